using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace Junis.Server.Tests.ChatCompletions;

/// <summary>
/// Bodies a careless or malicious client might send. Whatever arrives, the answer is a 4xx in the OpenAI
/// envelope, never a 5xx, and the same server goes on answering: the whole table runs against one instance.
/// </summary>
public sealed class HostileBodyTests(HostileBodyTests.SharedApp shared) : IClassFixture<HostileBodyTests.SharedApp>
{
    private const string Hi = """{"role":"user","content":"hi"}""";

    private readonly HttpClient _client = shared.App.CreateAuthorizedClient();

    public sealed class SharedApp : IDisposable
    {
        public SharedApp()
        {
            OnSocket = new JunisApp(LogCapture.VerboseSettings(), services => services.AddSingleton<ILogEventSink>(Log));
            OnSocket.UseKestrel();
            OnSocket.StartServer();
        }

        public JunisApp App { get; } = new();

        /// <summary>The server on a real socket, for bodies framed as no HTTP client frames them, with every event it logs.</summary>
        public JunisApp OnSocket { get; }

        public LogCapture Log { get; } = new();

        public void Dispose()
        {
            App.Dispose();
            OnSocket.Dispose();
        }
    }

    private static readonly Dictionary<string, (Func<HttpContent> Body, HttpStatusCode Status)> Hostile = new()
    {
        // Not a JSON object at all.
        ["empty body"] = (() => Raw([]), HttpStatusCode.BadRequest),
        ["only whitespace"] = (() => Json(" \r\n\t "), HttpStatusCode.BadRequest),
        ["null"] = (() => Json("null"), HttpStatusCode.BadRequest),
        ["empty array"] = (() => Json("[]"), HttpStatusCode.BadRequest),
        ["a string"] = (() => Json("\"string\""), HttpStatusCode.BadRequest),
        ["a number"] = (() => Json("123"), HttpStatusCode.BadRequest),
        ["true"] = (() => Json("true"), HttpStatusCode.BadRequest),
        ["form data sent as JSON"] = (() => Json("messages=hi&model=gpt-4o"), HttpStatusCode.BadRequest),
        ["UTF-16 text"] = (() => Raw(Encoding.Unicode.GetBytes(Body(Hi))), HttpStatusCode.BadRequest),
        ["JSON labelled text/plain"] = (() => new StringContent(Body(Hi), Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType),
        ["JSON without a content type"] = (() => new ByteArrayContent(Encoding.UTF8.GetBytes(Body(Hi))), HttpStatusCode.UnsupportedMediaType),

        // Broken syntax.
        ["truncated after a value"] = (() => Json($$"""{"messages":[{{Hi}}]"""), HttpStatusCode.BadRequest),
        ["truncated inside a string"] = (() => Json("""{"messages":[{"role":"user","content":"h"""), HttpStatusCode.BadRequest),
        ["trailing garbage"] = (() => Json(Body(Hi) + " xyz"), HttpStatusCode.BadRequest),
        ["two documents"] = (() => Json(Body(Hi) + Body(Hi)), HttpStatusCode.BadRequest),
        ["trailing comma"] = (() => Json($$"""{"messages":[{{Hi}}],}"""), HttpStatusCode.BadRequest),
        ["comment"] = (() => Json($$"""{/* hi */"messages":[{{Hi}}]}"""), HttpStatusCode.BadRequest),
        ["single quotes"] = (() => Json("{'messages':[{'role':'user','content':'hi'}]}"), HttpStatusCode.BadRequest),
        ["unquoted keys"] = (() => Json("{messages:[{role:\"user\",content:\"hi\"}]}"), HttpStatusCode.BadRequest),
        ["NaN literal"] = (() => Json(With("\"temperature\":NaN")), HttpStatusCode.BadRequest),
        ["Infinity literal"] = (() => Json(With("\"temperature\":Infinity")), HttpStatusCode.BadRequest),
        ["-Infinity literal"] = (() => Json(With("\"top_p\":-Infinity")), HttpStatusCode.BadRequest),
        ["hex number"] = (() => Json(With("\"n\":0x1")), HttpStatusCode.BadRequest),
        ["number with a leading zero"] = (() => Json(With("\"n\":01")), HttpStatusCode.BadRequest),
        ["number with a plus sign"] = (() => Json(With("\"n\":+1")), HttpStatusCode.BadRequest),
        ["number without a leading digit"] = (() => Json(With("\"temperature\":.5")), HttpStatusCode.BadRequest),
        ["raw control character in a string"] = (() => Json("{\"messages\":[{\"role\":\"user\",\"content\":\"a\u0001b\"}]}"), HttpStatusCode.BadRequest),
        ["raw newline in a string"] = (() => Json("{\"messages\":[{\"role\":\"user\",\"content\":\"a\nb\"}]}"), HttpStatusCode.BadRequest),
        ["invalid escape"] = (() => Json("""{"messages":[{"role":"user","content":"\x41"}]}"""), HttpStatusCode.BadRequest),
        ["short unicode escape"] = (() => Json("""{"messages":[{"role":"user","content":"\u12"}]}"""), HttpStatusCode.BadRequest),

        // Text the JSON reader cannot turn into a string.
        ["lone high surrogate escape"] = (() => Json("""{"messages":[{"role":"user","content":"a\ud800b"}]}"""), HttpStatusCode.BadRequest),
        ["lone low surrogate escape"] = (() => Json("""{"messages":[{"role":"user","content":"\udc00"}]}"""), HttpStatusCode.BadRequest),
        ["lone surrogate escape in the role"] = (() => Json("""{"messages":[{"role":"\ud800","content":"hi"}]}"""), HttpStatusCode.BadRequest),
        ["invalid UTF-8 bytes in content"] = (() => Raw(Bytes("""{"messages":[{"role":"user","content":"a""", [0xFF, 0xFE], "\"}]}")), HttpStatusCode.BadRequest),
        ["invalid UTF-8 bytes in the model"] = (() => Raw(Bytes($$"""{"messages":[{{Hi}}],"model":"gpt""", [0xC3, 0x28], "\"}")), HttpStatusCode.BadRequest),
        ["overlong UTF-8 encoding"] = (() => Raw(Bytes("""{"messages":[{"role":"user","content":"a""", [0xC0, 0xAF], "\"}]}")), HttpStatusCode.BadRequest),
        ["UTF-8 encoded surrogate"] = (() => Raw(Bytes("""{"messages":[{"role":"user","content":"a""", [0xED, 0xA0, 0x80], "\"}]}")), HttpStatusCode.BadRequest),
        ["truncated UTF-8 sequence"] = (() => Raw(Bytes("""{"messages":[{"role":"user","content":"a""", [0xE2, 0x82], "\"}]}")), HttpStatusCode.BadRequest),

        // Numbers out of any range.
        ["temperature 1e309"] = (() => Json(With("\"temperature\":1e309")), HttpStatusCode.BadRequest),
        ["presence_penalty -1e309"] = (() => Json(With("\"presence_penalty\":-1e309")), HttpStatusCode.BadRequest),
        ["n 1e309"] = (() => Json(With("\"n\":1e309")), HttpStatusCode.BadRequest),
        ["max_tokens beyond a 32-bit integer"] = (() => Json(With("\"max_tokens\":99999999999")), HttpStatusCode.BadRequest),
        ["n negative zero"] = (() => Json(With("\"n\":-0")), HttpStatusCode.BadRequest),

        // Depth.
        ["10,000 nested arrays"] = (() => Json(new string('[', 10_000) + new string(']', 10_000)), HttpStatusCode.BadRequest),
        ["10,000 nested objects in an unknown field"] = (() => Json(With("\"metadata\":" + Nested(10_000))), HttpStatusCode.BadRequest),
        ["10,000 nested objects in elevenlabs_extra_body"] = (() => Json(With("\"elevenlabs_extra_body\":" + Nested(10_000))), HttpStatusCode.BadRequest),
        ["10,000 nested objects in tool parameters"] = (() => Json(With($$$"""
            "tools":[{"type":"function","function":{"name":"f","parameters":{{{Nested(10_000)}}}}}]
            """)), HttpStatusCode.BadRequest),
        ["10,000 nested arrays in content"] = (() => Json("""{"messages":[{"role":"user","content":""" + new string('[', 10_000) + new string(']', 10_000) + "}]}"), HttpStatusCode.BadRequest),
        ["10,000 nested arrays in a message's unknown field"] = (() => Json("""{"messages":[{"role":"user","content":"hi","extra":""" + new string('[', 10_000) + new string(']', 10_000) + "}]}"), HttpStatusCode.BadRequest),

        // Size.
        ["2 MiB of content"] = (() => Json(Body($$"""{"role":"user","content":"{{new string('a', 2 * 1024 * 1024)}}"}""")), HttpStatusCode.RequestEntityTooLarge),
        ["10,000 null messages"] = (() => Json(Body(string.Join(",", Enumerable.Repeat("null", 10_000)))), HttpStatusCode.BadRequest),
        ["10,000 messages, the last without a role"] = (() => Json(Body(string.Join(",", Enumerable.Repeat(Hi, 9_999).Append("""{"content":"hi"}""")))), HttpStatusCode.BadRequest),

        // Nulls where a value is required.
        ["property names in the wrong case"] = (() => Json("""{"Messages":[{"Role":"user","Content":"hi"}]}"""), HttpStatusCode.BadRequest),
        ["role null"] = (() => Json(Body("""{"role":null,"content":"hi"}""")), HttpStatusCode.BadRequest),
        ["every message field null"] = (() => Json(Body("""{"role":null,"content":null,"name":null,"tool_calls":null,"tool_call_id":null}""")), HttpStatusCode.BadRequest),
        ["null content part"] = (() => Json(Body("""{"role":"user","content":[null]}""")), HttpStatusCode.BadRequest),
        ["null content part type"] = (() => Json(Body("""{"role":"user","content":[{"type":null,"text":"hi"}]}""")), HttpStatusCode.BadRequest),
        ["null tool call"] = (() => Json(Body(Hi, """{"role":"assistant","tool_calls":[null]}""")), HttpStatusCode.BadRequest),
        ["null tool call function"] = (() => Json(Body(Hi, """{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":null}]}""")), HttpStatusCode.BadRequest),
        ["null tool"] = (() => Json(With("\"tools\":[null]")), HttpStatusCode.BadRequest),
        ["null tool function"] = (() => Json(With("""
            "tools":[{"type":"function","function":null}]
            """)), HttpStatusCode.BadRequest),
        ["null tool function name"] = (() => Json(With("""
            "tools":[{"type":"function","function":{"name":null}}]
            """)), HttpStatusCode.BadRequest),
        ["null tool_choice function name"] = (() => Json(With("""
            "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":null}}
            """)), HttpStatusCode.BadRequest),
        ["null stop sequence"] = (() => Json(With("\"stop\":[null]")), HttpStatusCode.BadRequest),

        // Wrong types everywhere.
        ["messages an object"] = (() => Json("""{"messages":{"role":"user","content":"hi"}}"""), HttpStatusCode.BadRequest),
        ["messages a number"] = (() => Json("""{"messages":1}"""), HttpStatusCode.BadRequest),
        ["message an array"] = (() => Json("""{"messages":[[]]}"""), HttpStatusCode.BadRequest),
        ["message a string"] = (() => Json("""{"messages":["hi"]}"""), HttpStatusCode.BadRequest),
        ["role a number"] = (() => Json(Body("""{"role":5,"content":"hi"}""")), HttpStatusCode.BadRequest),
        ["role an object"] = (() => Json(Body("""{"role":{"name":"user"},"content":"hi"}""")), HttpStatusCode.BadRequest),
        ["role with a NUL character"] = (() => Json(Body("""{"role":"user\u0000","content":"hi"}""")), HttpStatusCode.BadRequest),
        ["content a number"] = (() => Json(Body("""{"role":"user","content":5}""")), HttpStatusCode.BadRequest),
        ["content a boolean"] = (() => Json(Body("""{"role":"user","content":true}""")), HttpStatusCode.BadRequest),
        ["content an object"] = (() => Json(Body("""{"role":"user","content":{"type":"text","text":"hi"}}""")), HttpStatusCode.BadRequest),
        ["content part text a number"] = (() => Json(Body("""{"role":"user","content":[{"type":"text","text":5}]}""")), HttpStatusCode.BadRequest),
        ["content part type a number"] = (() => Json(Body("""{"role":"user","content":[{"type":5,"text":"hi"}]}""")), HttpStatusCode.BadRequest),
        ["name a number"] = (() => Json(Body("""{"role":"user","content":"hi","name":5}""")), HttpStatusCode.BadRequest),
        ["tool_calls a string"] = (() => Json(Body(Hi, """{"role":"assistant","tool_calls":"weather"}""")), HttpStatusCode.BadRequest),
        ["tool call a number"] = (() => Json(Body(Hi, """{"role":"assistant","tool_calls":[5]}""")), HttpStatusCode.BadRequest),
        ["tool call function a string"] = (() => Json(Body(Hi, """{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":"weather"}]}""")), HttpStatusCode.BadRequest),
        ["tool call arguments an object"] = (() => Json(Body(Hi, """{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":{}}}]}""")), HttpStatusCode.BadRequest),
        ["tool_call_id a number"] = (() => Json(Body("""{"role":"tool","content":"Sunny","tool_call_id":5}""")), HttpStatusCode.BadRequest),
        ["tools an object"] = (() => Json(With("""
            "tools":{"type":"function","function":{"name":"f"}}
            """)), HttpStatusCode.BadRequest),
        ["tool a string"] = (() => Json(With("\"tools\":[\"weather\"]")), HttpStatusCode.BadRequest),
        ["tool function a string"] = (() => Json(With("""
            "tools":[{"type":"function","function":"weather"}]
            """)), HttpStatusCode.BadRequest),
        ["tool function name a number"] = (() => Json(With("""
            "tools":[{"type":"function","function":{"name":5}}]
            """)), HttpStatusCode.BadRequest),
        ["tool_choice a number"] = (() => Json(With("\"tool_choice\":5")), HttpStatusCode.BadRequest),
        ["tool_choice an array"] = (() => Json(With("\"tool_choice\":[]")), HttpStatusCode.BadRequest),
        ["tool_choice an empty object"] = (() => Json(With("\"tool_choice\":{}")), HttpStatusCode.BadRequest),
        ["stop a boolean"] = (() => Json(With("\"stop\":true")), HttpStatusCode.BadRequest),
        ["stop an object"] = (() => Json(With("\"stop\":{}")), HttpStatusCode.BadRequest),
        ["stop holding a number"] = (() => Json(With("\"stop\":[1]")), HttpStatusCode.BadRequest),
        ["stream a number"] = (() => Json(With("\"stream\":1")), HttpStatusCode.BadRequest),
        ["stream the string true"] = (() => Json(With("\"stream\":\"true\"")), HttpStatusCode.BadRequest),
        ["stream_options a string"] = (() => Json(With("\"stream\":true,\"stream_options\":\"usage\"")), HttpStatusCode.BadRequest),
        ["include_usage a string"] = (() => Json(With("""
            "stream":true,"stream_options":{"include_usage":"yes"}
            """)), HttpStatusCode.BadRequest),
        ["parallel_tool_calls a string"] = (() => Json(With("\"parallel_tool_calls\":\"yes\"")), HttpStatusCode.BadRequest),
        ["temperature an array"] = (() => Json(With("\"temperature\":[1]")), HttpStatusCode.BadRequest),
        ["temperature a boolean"] = (() => Json(With("\"temperature\":true")), HttpStatusCode.BadRequest),
        ["max_tokens a fraction"] = (() => Json(With("\"max_tokens\":1.5")), HttpStatusCode.BadRequest),
        ["user a number"] = (() => Json(With("\"user\":5")), HttpStatusCode.BadRequest),
        ["user_id an object"] = (() => Json(With("\"user_id\":{}")), HttpStatusCode.BadRequest),
        ["session_id a number"] = (() => Json(With("\"session_id\":5")), HttpStatusCode.BadRequest),
        ["elevenlabs_extra_body a number"] = (() => Json(With("\"elevenlabs_extra_body\":5")), HttpStatusCode.BadRequest),
        ["conversation_id an object"] = (() => Json(With("""
            "elevenlabs_extra_body":{"conversation_id":{}}
            """)), HttpStatusCode.BadRequest),
        ["streaming request with bad content"] = (() => Json("""{"stream":true,"messages":[{"role":"user","content":5}]}"""), HttpStatusCode.BadRequest),
    };

    public static TheoryData<string> HostileBodies => new(Hostile.Keys);

    [Theory, MemberData(nameof(HostileBodies))]
    public async Task HostileBodyIsRefusedInTheOpenAIEnvelope(string body)
    {
        var (content, status) = Hostile[body];
        using var response = await _client.PostAsync(Api.Completions, content());

        Assert.Equal(status, response.StatusCode);
        // The seed's error types by status: every 4xx other than 401, 403, 404 and 429 is an invalid request.
        await AssertEnvelopeAsync(response, "invalid_request_error");
        await AssertStillServingAsync();
    }

    // These look hostile but are well-formed requests; refusing them would refuse real clients.
    private static readonly Dictionary<string, (Func<HttpContent> Body, string Reply)> Tolerated = new()
    {
        // RFC 8259 leaves duplicate names to the parser; like most parsers, the last one wins.
        ["duplicate keys"] = (() => Json("""{"messages":[{"role":"user","content":"first"}],"messages":[{"role":"user","content":"last"}]}"""), "Echo: last"),
        // RFC 8259 lets a parser ignore a UTF-8 byte order mark, and Windows tools like to write one.
        ["UTF-8 byte order mark"] = (() => Raw([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Body(Hi))]), "Echo: hi"),
        ["whitespace around the document"] = (() => Json("\r\n\t " + Body(Hi) + " \r\n"), "Echo: hi"),
        // An escaped NUL is a legal character in a JSON string.
        ["escaped NUL in content"] = (() => Json(Body("""{"role":"user","content":"a\u0000b"}""")), "Echo: a\0b"),
        ["surrogate pair escape"] = (() => Json(Body("""{"role":"user","content":"\ud83d\ude00"}""")), "Echo: 😀"),
        ["an escaped backslash before what looks like a surrogate escape"] = (() => Json(Body("""{"role":"user","content":"\\ud800"}""")), @"Echo: \ud800"),
        ["numbers in exponent form"] = (() => Json(With("\"temperature\":1e0,\"top_p\":5E-1")), "Echo: hi"),
        ["negative zero temperature"] = (() => Json(With("\"temperature\":-0.0")), "Echo: hi"),
        // The contract sets no limit on how many messages a conversation has; the body limit bounds it.
        ["10,000 messages"] = (() => Json(Body(string.Join(",", Enumerable.Repeat(Hi, 10_000)))), "Echo: hi"),
    };

    public static TheoryData<string> ToleratedBodies => new(Tolerated.Keys);

    [Theory, MemberData(nameof(ToleratedBodies))]
    public async Task UnusualButValidBodyIsAnswered(string body)
    {
        var (content, reply) = Tolerated[body];
        using var response = await _client.PostAsync(Api.Completions, content());

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal(reply, (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
    }

    [Fact]
    public async Task NearlyAMebibyteOfTextIsAnsweredOrRefusedCleanly()
    {
        var text = string.Concat(Enumerable.Repeat("lorem ipsum ", 900 * 1024 / 12));
        using var response = await _client.PostAsync(Api.Completions, Json(Body($$"""{"role":"user","content":"{{text}}"}""")));

        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.InRange((int)response.StatusCode, 400, 499);
            await AssertEnvelopeAsync(response, "invalid_request_error");
        }
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task OneLongWordIsAnsweredAsPromptlyAsOrdinaryText()
    {
        // 200 KB of ordinary words takes well under a second; a single 200 KB word must not take much longer.
        using var app = new JunisApp();
        var client = app.CreateAuthorizedClient();
        using var cancel = new CancellationTokenSource();
        var word = new string('a', 200_000);
        var clock = Stopwatch.StartNew();
        var request = client.PostAsync(Api.Completions, Json(Body($$"""{"role":"user","content":"{{word}}"}""")), cancel.Token);

        var finished = await Task.WhenAny(request, Task.Delay(TimeSpan.FromSeconds(10))) == request;
        await cancel.CancelAsync();

        Assert.True(finished, $"No answer after {clock.Elapsed.TotalSeconds:0} s to a request with one 200,000-letter word.");
        using var response = await request;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // Bytes that are not UTF-8, in places where the JSON reader checks them differently or not at all.
    private static readonly Dictionary<string, (string Before, byte[] Bytes, string After)> NotUtf8 = new()
    {
        ["in content"] = ("""{"messages":[{"role":"user","content":"a""", [0xFF, 0xFE], "\"}]}"),
        ["in content after Korean text"] = ("""{"messages":[{"role":"user","content":"안녕""", [0xFF], "\"}]}"),
        ["in the model"] = ($$"""{"messages":[{{Hi}}],"model":"gpt""", [0xC3, 0x28], "\"}"),
        ["in the role"] = ("""{"messages":[{"role":"us""", [0xC3, 0x28], "er\",\"content\":\"hi\"}]}"),
        ["in a property name"] = ("""{"mess""", [0xFF], $$"""ages":[{{Hi}}]}"""),
        ["in an unknown field's name"] = ("{\"x", [0xFF], $"\":1,\"messages\":[{Hi}]}}"),
        ["in an unknown field's value"] = ($"{{\"messages\":[{Hi}],\"metadata\":{{\"note\":\"", [0xFF], "\"}}"),
        ["in place of a number"] = ($$"""{"messages":[{{Hi}}],"n":""", [0xFF], "}"),
        ["between tokens"] = ($$"""{"messages":[{{Hi}}]""", [0xA0], "}"),
        ["an overlong encoding"] = ("""{"messages":[{"role":"user","content":"a""", [0xC0, 0xAF], "\"}]}"),
        ["an encoded surrogate"] = ("""{"messages":[{"role":"user","content":"a""", [0xED, 0xA0, 0x80], "\"}]}"),
        ["a sequence cut short"] = ("""{"messages":[{"role":"user","content":"a""", [0xE2, 0x82], "\"}]}"),
        ["a sequence cut short by the end of the body"] = ($$"""{"messages":[{{Hi}}]}""", [0xE2, 0x82], ""),
    };

    public static TheoryData<string> NotUtf8Bodies => new(NotUtf8.Keys);

    [Theory, MemberData(nameof(NotUtf8Bodies))]
    public async Task BytesThatAreNotUtf8AreReportedAsSuch(string place)
    {
        var (before, bytes, after) = NotUtf8[place];
        using var response = await _client.PostAsync(Api.Completions, Raw(Bytes(before, bytes, after)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await AssertEnvelopeAsync(response, "invalid_request_error");
        var message = (string)error["message"]!;
        Assert.Contains("not valid UTF-8", message);
        Assert.Contains($"byte 0x{bytes[0]:X2} at position {Encoding.UTF8.GetByteCount(before) + 1}", message);
        Assert.Equal("invalid_encoding", (string?)error["code"]);
        Assert.Null(error["param"]);
        await AssertStillServingAsync();
    }

    // Strings whose escapes spell half a surrogate pair, which no text can hold, wherever the string is read, or if it never is.
    private static readonly Dictionary<string, (string Before, string Escaped, string After)> HalfSurrogates = new()
    {
        ["in content"] = ("""{"messages":[{"role":"user","content":""", @"a\ud800b", "}]}"),
        ["in the role"] = ("""{"messages":[{"role":""", @"\udc00", ""","content":"hi"}]}"""),
        ["in elevenlabs_extra_body.conversation_id"] = ($$"""{"messages":[{{Hi}}],"elevenlabs_extra_body":{"conversation_id":""", @"\ud800", "}}"),
        ["in a tool's parameters"] = ($$"""{"messages":[{{Hi}}],"tools":[{"type":"function","function":{"name":"f","parameters":{""", @"\ud800", ":1}}}]}"),
        ["in an unknown property name"] = ($$"""{"messages":[{{Hi}}],""", @"x\ud800", ":1}"),
        ["in an unknown field's value"] = ($$"""{"messages":[{{Hi}}],"metadata":""", @"\ud800", "}"),
        ["a high half before a letter"] = ("""{"messages":[{"role":"user","content":""", @"\ud800\u0041", "}]}"),
        ["the halves in the wrong order"] = ("""{"messages":[{"role":"user","content":""", @"\udc00\ud800", "}]}"),
    };

    public static TheoryData<string> HalfSurrogateBodies => new(HalfSurrogates.Keys);

    [Theory, MemberData(nameof(HalfSurrogateBodies))]
    public async Task EscapesOfHalfASurrogatePairAreReportedAsSuch(string place)
    {
        var (before, escaped, after) = HalfSurrogates[place];
        using var response = await _client.PostAsync(Api.Completions, Json($"{before}\"{escaped}\"{after}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await AssertEnvelopeAsync(response, "invalid_request_error");
        var message = (string)error["message"]!;
        Assert.Contains("not valid Unicode", message);
        Assert.Contains($"string at position {Encoding.UTF8.GetByteCount(before) + 1}", message);
        Assert.Contains("surrogate", message);
        Assert.Equal("invalid_encoding", (string?)error["code"]);
        await AssertStillServingAsync();
    }

    // Chunked framing no HTTP client produces, so written byte by byte to a socket.
    private static readonly Dictionary<string, Func<byte[]>> BrokenChunks = new()
    {
        ["a chunk size of 2^31 after a good chunk"] = () => [.. ChunkedHead, .. RawHttp.Chunk("{\"messages\":"u8.ToArray()), .. "80000000\r\n[]}"u8],
        ["a chunk size of 2^63"] = () => [.. ChunkedHead, .. "8000000000000000\r\n{}"u8],
        ["a chunk size of 20 hex digits"] = () => [.. ChunkedHead, .. "FFFFFFFFFFFFFFFFFFFF\r\n{}"u8],
        ["a chunk size that is not hex"] = () => [.. ChunkedHead, .. "zz\r\n{}"u8],
        ["a chunk longer than its size"] = () => [.. ChunkedHead, .. "2\r\n{}}\r\n0\r\n\r\n"u8],
    };

    public static TheoryData<string> BrokenChunkedBodies => new(BrokenChunks.Keys);

    [Theory, MemberData(nameof(BrokenChunkedBodies))]
    public async Task BrokenChunkedFramingIsRefusedAsMalformed(string framing)
    {
        var logged = shared.Log.Events.Count;
        var response = await RawHttp.SendAsync(SocketAddress, BrokenChunks[framing](), endRequest: false);

        Assert.NotNull(response);
        Assert.Equal(400, response.Status);
        var error = AssertEnvelope(response.Body, response.Headers["Content-Type"], "invalid_request_error");
        Assert.Contains("chunked encoding is malformed", (string)error["message"]!);
        Assert.Equal("invalid_body", (string?)error["code"]);
        await AssertRefusedQuietlyAsync(logged);
        await AssertStillServingAsync(shared.OnSocket.CreateAuthorizedClient());
    }

    // Bodies whose client stops sending part way and closes its side of the connection.
    private static readonly Dictionary<string, Func<byte[]>> CutShort = new()
    {
        ["chunked, without the closing empty chunk"] = () => [.. ChunkedHead, .. RawHttp.Chunk(Encoding.UTF8.GetBytes(Body(Hi)[..20]))],
        ["chunked, within a chunk"] = () => [.. ChunkedHead, .. "40\r\n{\"messages\":"u8],
        ["shorter than its Content-Length"] = () => [.. RawHttp.PostHead(Api.Completions, "Content-Length: 100"), .. "{\"messages\":"u8],
    };

    public static TheoryData<string> CutShortBodies => new(CutShort.Keys);

    [Theory, MemberData(nameof(CutShortBodies))]
    public async Task ABodyCutShortIsRefusedWithoutAnErrorLog(string body)
    {
        var logged = shared.Log.Events.Count;
        var response = await RawHttp.SendAsync(SocketAddress, CutShort[body](), endRequest: true);

        // Kestrel takes a client that closes its side mid-body for one that has gone, and drops the connection without
        // sending the answer. Should it ever send one, it must be this.
        if (response is not null)
        {
            Assert.Equal(400, response.Status);
            var error = AssertEnvelope(response.Body, response.Headers["Content-Type"], "invalid_request_error");
            Assert.Contains("ended before it was complete", (string)error["message"]!);
        }
        var request = await AssertRefusedQuietlyAsync(logged);
        Assert.Contains("ended before it was complete", request.Properties["BodyError"].ToString());
        await AssertStillServingAsync(shared.OnSocket.CreateAuthorizedClient());
    }

    private static byte[] ChunkedHead => RawHttp.PostHead(Api.Completions, "Transfer-Encoding: chunked");

    private Uri SocketAddress => shared.OnSocket.ClientOptions.BaseAddress;

    /// <summary>
    /// The request was logged as a 400, at Information and without an exception, and nothing at all was logged
    /// as a warning or an error from <paramref name="skip"/> on, until its connection closed. Returns the request's event.
    /// </summary>
    private async Task<LogEvent> AssertRefusedQuietlyAsync(int skip)
    {
        var request = await shared.Log.WaitForAsync(e => Source(e) == "Serilog.AspNetCore.RequestLoggingMiddleware", skip);
        await shared.Log.WaitForAsync(e => Source(e).StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal)
            && e.MessageTemplate.Text.Contains("stopped", StringComparison.Ordinal) && SameConnection(e, request), skip);

        Assert.Equal(LogEventLevel.Information, request.Level);
        Assert.Null(request.Exception);
        Assert.Equal("400", request.Properties["StatusCode"].ToString());
        Assert.DoesNotContain(shared.Log.Events.Skip(skip), e => e.Level >= LogEventLevel.Warning);
        return request;

        static string Source(LogEvent e) => e.Properties.TryGetValue("SourceContext", out var source) ? source.ToString().Trim('"') : "";

        static bool SameConnection(LogEvent e, LogEvent request) =>
            e.Properties.TryGetValue("ConnectionId", out var id) && request.Properties.TryGetValue("ConnectionId", out var ours)
            && id.ToString() == ours.ToString();
    }

    private Task AssertStillServingAsync() => AssertStillServingAsync(_client);

    private static async Task AssertStillServingAsync(HttpClient client)
    {
        using var response = await client.PostAsync(Api.Completions, Json(Body(Hi)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<JsonObject> AssertEnvelopeAsync(HttpResponseMessage response, string type) =>
        AssertEnvelope(await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.ToString(), type);

    private static JsonObject AssertEnvelope(string text, string? contentType, string type)
    {
        Assert.Equal("application/json", MediaTypeHeaderValue.Parse(contentType!).MediaType);
        var envelope = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(["error"], envelope.Select(p => p.Key));
        var error = envelope["error"]!.AsObject();
        Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key).Order());
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]), text);
        Assert.Equal(type, (string?)error["type"]);
        return error;
    }

    private static StringContent Json(string json) => Api.Json(json);

    private static ByteArrayContent Raw(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static byte[] Bytes(string before, byte[] raw, string after) =>
        [.. Encoding.UTF8.GetBytes(before), .. raw, .. Encoding.UTF8.GetBytes(after)];

    private static string Body(params string[] messages) => $$"""{"messages":[{{string.Join(",", messages)}}]}""";

    private static string With(string fields) => $$"""{"messages":[{{Hi}}],{{fields.Trim()}}}""";

    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
}
