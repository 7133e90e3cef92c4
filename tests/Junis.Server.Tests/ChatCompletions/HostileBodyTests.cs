using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

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
        public JunisApp App { get; } = new();

        public void Dispose() => App.Dispose();
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

    private async Task AssertStillServingAsync()
    {
        using var response = await _client.PostAsync(Api.Completions, Json(Body(Hi)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task AssertEnvelopeAsync(HttpResponseMessage response, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var envelope = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(["error"], envelope.Select(p => p.Key));
        var error = envelope["error"]!.AsObject();
        Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key).Order());
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]), text);
        Assert.Equal(type, (string?)error["type"]);
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
