using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.ChatCompletions;

/// <summary>
/// Every parameter rule, as a table: what breaks it, and the error an SDK gets back. The rows name the rule;
/// the body, parameter and code live in <see cref="Rules"/> so that test names stay readable.
/// </summary>
public sealed class ValidationTests : IDisposable
{
    private const string Hi = """{"role":"user","content":"hi"}""";
    private const string Call = """{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{}"}}""";
    private const string Tool = """{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}""";

    private readonly JunisApp _app = new();

    private sealed record Rule(string Body, string Param, string Code);

    private static readonly Dictionary<string, Rule> Rules = new()
    {
        ["messages missing"] = new("{}", "messages", "missing_required_field"),
        ["messages null"] = new("""{"messages":null}""", "messages", "missing_required_field"),
        ["messages empty"] = new("""{"messages":[]}""", "messages", "empty_array"),
        ["message null"] = new(Messages("null"), "messages[0]", "invalid_value"),
        ["second message null"] = new(Messages(Hi, "null"), "messages[1]", "invalid_value"),
        ["role missing"] = new(Messages("""{"content":"hi"}"""), "messages[0].role", "missing_required_field"),
        ["role unknown"] = new(Messages("""{"role":"wizard","content":"hi"}"""), "messages[0].role", "invalid_value"),
        ["role in the wrong case"] = new(Messages("""{"role":"User","content":"hi"}"""), "messages[0].role", "invalid_value"),
        ["user content missing"] = new(Messages("""{"role":"user"}"""), "messages[0].content", "missing_required_field"),
        ["user content null"] = new(Messages("""{"role":"user","content":null}"""), "messages[0].content", "missing_required_field"),
        ["system content missing"] = new(Messages("""{"role":"system"}""", Hi), "messages[0].content", "missing_required_field"),
        ["tool content missing"] = new(Messages("""{"role":"tool","tool_call_id":"call_1"}"""), "messages[0].content", "missing_required_field"),
        ["assistant without content or tool calls"] = new(Messages(Hi, """{"role":"assistant"}"""), "messages[1].content", "missing_required_field"),
        ["assistant with no content and no tool calls"] = new(Messages("""{"role":"assistant","content":null,"tool_calls":[]}"""), "messages[0].content", "missing_required_field"),
        ["tool without tool_call_id"] = new(Messages("""{"role":"tool","content":"Sunny"}"""), "messages[0].tool_call_id", "missing_required_field"),
        ["tool with empty tool_call_id"] = new(Messages("""{"role":"tool","content":"Sunny","tool_call_id":""}"""), "messages[0].tool_call_id", "missing_required_field"),
        ["tool_calls on a user message"] = new(Messages($$"""{"role":"user","content":"hi","tool_calls":[{{Call}}]}"""), "messages[0].tool_calls", "invalid_value"),
        ["tool call without id"] = new(Assistant("""{"type":"function","function":{"name":"weather","arguments":"{}"}}"""), "messages[0].tool_calls[0].id", "missing_required_field"),
        ["second tool call without id"] = new(Assistant(Call, """{"type":"function","function":{"name":"weather","arguments":"{}"}}"""), "messages[0].tool_calls[1].id", "missing_required_field"),
        ["tool call of a type other than function"] = new(Assistant("""{"id":"call_1","type":"retrieval","function":{"name":"weather","arguments":"{}"}}"""), "messages[0].tool_calls[0].type", "invalid_value"),
        ["tool call without function"] = new(Assistant("""{"id":"call_1","type":"function"}"""), "messages[0].tool_calls[0].function.name", "missing_required_field"),
        ["tool call without function name"] = new(Assistant("""{"id":"call_1","type":"function","function":{"arguments":"{}"}}"""), "messages[0].tool_calls[0].function.name", "missing_required_field"),
        ["tool call arguments not JSON"] = new(Assistant("""{"id":"call_1","type":"function","function":{"name":"weather","arguments":"city=Seoul"}}"""), "messages[0].tool_calls[0].function.arguments", "invalid_value"),
        ["tool call arguments a JSON array"] = new(Assistant("""{"id":"call_1","type":"function","function":{"name":"weather","arguments":"[1,2]"}}"""), "messages[0].tool_calls[0].function.arguments", "invalid_value"),
        ["tool call arguments a JSON string"] = new(Assistant("""{"id":"call_1","type":"function","function":{"name":"weather","arguments":"\"Seoul\""}}"""), "messages[0].tool_calls[0].function.arguments", "invalid_value"),
        ["image_url content part on a system message"] = new(Messages("""{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}""", Hi), "messages[0].content[0]", "invalid_value"),
        ["image_url content part without a url"] = new(Messages("""{"role":"user","content":[{"type":"image_url","image_url":{}}]}"""), "messages[0].content", "invalid_value"),
        ["image_url content part with a relative url"] = new(Messages("""{"role":"user","content":[{"type":"image_url","image_url":{"url":"cat.png"}}]}"""), "messages[0].content", "invalid_value"),
        ["image data URL that is not base64"] = new(Messages("""{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,***"}}]}"""), "messages[0].content", "invalid_value"),
        ["input_audio part without a format"] = new(Messages("""{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA"}}]}"""), "messages[0].content", "invalid_value"),
        ["file part with neither data nor id"] = new(Messages("""{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf"}}]}"""), "messages[0].content", "invalid_value"),
        ["content part of an unknown type"] = new(Messages("""{"role":"user","content":[{"type":"video","video":{}}]}"""), "messages[0].content", "invalid_value"),
        ["refusal part on a user message"] = new(Messages("""{"role":"user","content":[{"type":"refusal","refusal":"no"}]}"""), "messages[0].content[0]", "invalid_value"),
        ["function message without a name"] = new(Messages(Hi, """{"role":"function","content":"42"}"""), "messages[1].name", "missing_required_field"),
        ["content part that is not an object"] = new(Messages("""{"role":"user","content":["hi"]}"""), "messages[0].content", "invalid_value"),
        ["text part without text"] = new(Messages("""{"role":"user","content":[{"type":"text"}]}"""), "messages[0].content", "invalid_value"),

        ["temperature 5"] = new(With("\"temperature\":5"), "temperature", "invalid_value"),
        ["temperature -0.1"] = new(With("\"temperature\":-0.1"), "temperature", "invalid_value"),
        ["top_p 1.5"] = new(With("\"top_p\":1.5"), "top_p", "invalid_value"),
        ["top_p -0.1"] = new(With("\"top_p\":-0.1"), "top_p", "invalid_value"),
        ["frequency_penalty 3"] = new(With("\"frequency_penalty\":3"), "frequency_penalty", "invalid_value"),
        ["frequency_penalty -2.5"] = new(With("\"frequency_penalty\":-2.5"), "frequency_penalty", "invalid_value"),
        ["presence_penalty -3"] = new(With("\"presence_penalty\":-3"), "presence_penalty", "invalid_value"),
        ["presence_penalty 2.5"] = new(With("\"presence_penalty\":2.5"), "presence_penalty", "invalid_value"),
        ["max_tokens 0"] = new(With("\"max_tokens\":0"), "max_tokens", "invalid_value"),
        ["max_completion_tokens -1"] = new(With("\"max_completion_tokens\":-1"), "max_completion_tokens", "invalid_value"),
        ["n 0"] = new(With("\"n\":0"), "n", "invalid_value"),
        ["n 9, above the default maximum of 8"] = new(With("\"n\":9"), "n", "invalid_value"),

        ["stop with 5 sequences"] = new(With("""
            "stop":["a","b","c","d","e"]
            """), "stop", "invalid_value"),
        ["stop an empty string"] = new(With("\"stop\":\"\""), "stop", "invalid_value"),
        ["stop holding an empty string"] = new(With("""
            "stop":["a",""]
            """), "stop", "invalid_value"),
        ["stop a number"] = new(With("\"stop\":5"), "stop", "invalid_value"),

        ["129 tools"] = new(With($"\"tools\":[{string.Join(",", Enumerable.Range(0, 129).Select(i => NamedTool($"tool_{i}")))}]"), "tools", "invalid_value"),
        ["tool type not function"] = new(With("""
            "tools":[{"type":"retrieval","function":{"name":"weather"}}]
            """), "tools[0].type", "invalid_value"),
        ["tool type missing"] = new(With("""
            "tools":[{"function":{"name":"weather"}}]
            """), "tools[0].type", "invalid_value"),
        ["second tool type not function"] = new(With($$"""
            "tools":[{{Tool}},{"type":"code_interpreter"}]
            """), "tools[1].type", "invalid_value"),
        ["tool function missing"] = new(With("""
            "tools":[{"type":"function"}]
            """), "tools[0].function", "missing_required_field"),
        ["tool function name missing"] = new(With("""
            "tools":[{"type":"function","function":{"description":"Weather"}}]
            """), "tools[0].function.name", "missing_required_field"),
        ["tool function name empty"] = new(With(ToolNamed("")), "tools[0].function.name", "invalid_value"),
        ["tool function name with a space"] = new(With(ToolNamed("has space")), "tools[0].function.name", "invalid_value"),
        ["tool function name of 65 characters"] = new(With(ToolNamed(new string('f', 65))), "tools[0].function.name", "invalid_value"),
        ["tool function name with a trailing newline"] = new(With(ToolNamed("weather\\n")), "tools[0].function.name", "invalid_value"),
        ["tool parameters a string"] = new(With("""
            "tools":[{"type":"function","function":{"name":"weather","parameters":"city"}}]
            """), "tools[0].function.parameters", "invalid_value"),
        ["tool parameters an array"] = new(With("""
            "tools":[{"type":"function","function":{"name":"weather","parameters":[]}}]
            """), "tools[0].function.parameters", "invalid_value"),

        ["tool_choice required without tools"] = new(With("\"tool_choice\":\"required\""), "tool_choice", "invalid_value"),
        ["tool_choice required with an empty tools array"] = new(With("\"tool_choice\":\"required\",\"tools\":[]"), "tool_choice", "invalid_value"),
        ["tool_choice naming a function without tools"] = new(With("""
            "tool_choice":{"type":"function","function":{"name":"weather"}}
            """), "tool_choice", "invalid_value"),
        ["tool_choice naming a tool not offered"] = new(With($$$"""
            "tools":[{{{Tool}}}],"tool_choice":{"type":"function","function":{"name":"stocks"}}
            """), "tool_choice", "invalid_value"),
        ["tool_choice sometimes"] = new(With("\"tool_choice\":\"sometimes\""), "tool_choice", "invalid_value"),

        ["response_format of an unknown type"] = new(With("""
            "response_format":{"type":"yaml"}
            """), "response_format.type", "invalid_value"),
        ["response_format a string"] = new(With("\"response_format\":\"json\""), "response_format", "invalid_value"),
        ["json_schema response_format without json_schema"] = new(With("""
            "response_format":{"type":"json_schema"}
            """), "response_format.json_schema", "missing_required_field"),
        ["json_schema response_format without a name"] = new(With("""
            "response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}
            """), "response_format.json_schema.name", "missing_required_field"),
        ["json_schema name with a space"] = new(With("""
            "response_format":{"type":"json_schema","json_schema":{"name":"my schema","schema":{"type":"object"}}}
            """), "response_format.json_schema.name", "invalid_value"),
        ["json_schema schema a string"] = new(With("""
            "response_format":{"type":"json_schema","json_schema":{"name":"s","schema":"object"}}
            """), "response_format.json_schema.schema", "invalid_value"),
        ["logprobs a string"] = new(With("\"logprobs\":\"yes\""), "logprobs", "invalid_value"),
        ["top_logprobs without logprobs"] = new(With("\"top_logprobs\":2"), "top_logprobs", "invalid_value"),
        ["top_logprobs with logprobs false"] = new(With("\"logprobs\":false,\"top_logprobs\":2"), "top_logprobs", "invalid_value"),
        ["top_logprobs 21"] = new(With("\"logprobs\":true,\"top_logprobs\":21"), "top_logprobs", "invalid_value"),
        ["top_logprobs -1"] = new(With("\"logprobs\":true,\"top_logprobs\":-1"), "top_logprobs", "invalid_value"),
        ["seed a fraction"] = new(With("\"seed\":1.5"), "seed", "invalid_value"),
        ["seed a string"] = new(With("\"seed\":\"7\""), "seed", "invalid_value"),
        ["logit_bias beyond 100"] = new(With("""
            "logit_bias":{"50256":101}
            """), "logit_bias.50256", "invalid_value"),
        ["logit_bias keyed by a word"] = new(With("""
            "logit_bias":{"hello":1}
            """), "logit_bias", "invalid_value"),
        ["metadata with 17 pairs"] = new(With($"\"metadata\":{{{string.Join(",", Enumerable.Range(0, 17).Select(i => $"\"k{i}\":\"v\""))}}}"), "metadata", "invalid_value"),
        ["metadata value a number"] = new(With("""
            "metadata":{"a":1}
            """), "metadata.a", "invalid_value"),
        ["metadata value of 513 characters"] = new(With($"\"metadata\":{{\"a\":\"{new string('v', 513)}\"}}"), "metadata.a", "invalid_value"),
        ["store a string"] = new(With("\"store\":\"yes\""), "store", "invalid_value"),
        ["reasoning_effort a number"] = new(With("\"reasoning_effort\":1"), "reasoning_effort", "invalid_value"),
        ["modalities a string"] = new(With("\"modalities\":\"text\""), "modalities", "invalid_value"),
        ["prediction without content"] = new(With("""
            "prediction":{"type":"content"}
            """), "prediction", "invalid_value"),
        ["functions without a name"] = new(With("""
            "functions":[{"description":"x"}]
            """), "functions[0].name", "missing_required_field"),
        ["function_call sometimes"] = new(With("\"function_call\":\"sometimes\""), "function_call", "invalid_value"),
        ["tool_choice allowing a tool not offered"] = new(With($$$"""
            "tools":[{{{Tool}}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"stocks"}}]}}
            """), "tool_choice.allowed_tools.tools", "invalid_value"),
        ["tool_choice allowed_tools in an unknown mode"] = new(With($$$"""
            "tools":[{{{Tool}}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"often","tools":[]}}
            """), "tool_choice", "invalid_value"),

        ["elevenlabs_extra_body a string"] = new(With("\"elevenlabs_extra_body\":\"conv_1\""), "elevenlabs_extra_body", "invalid_value"),
        ["elevenlabs_extra_body an array"] = new(With("\"elevenlabs_extra_body\":[1]"), "elevenlabs_extra_body", "invalid_value"),
        ["conversation_id a number"] = new(With("""
            "elevenlabs_extra_body":{"conversation_id":5}
            """), "elevenlabs_extra_body.conversation_id", "invalid_value"),
        ["conversation_id empty"] = new(With("""
            "elevenlabs_extra_body":{"conversation_id":""}
            """), "elevenlabs_extra_body.conversation_id", "invalid_value"),
        ["conversation_id blank"] = new(With("""
            "elevenlabs_extra_body":{"conversation_id":"   "}
            """), "elevenlabs_extra_body.conversation_id", "invalid_value"),
        ["conversation_id of 300 characters"] = new(With($$"""
            "elevenlabs_extra_body":{"conversation_id":"{{new string('c', 300)}}"}
            """), "elevenlabs_extra_body.conversation_id", "invalid_value"),
        ["session_id empty"] = new(With("\"session_id\":\"\""), "session_id", "invalid_value"),
        ["session_id of 300 characters"] = new(With($"\"session_id\":\"{new string('s', 300)}\""), "session_id", "invalid_value"),
        ["user of 300 characters"] = new(With($"\"user\":\"{new string('u', 300)}\""), "user", "invalid_value"),
        ["user_id of 300 characters"] = new(With($"\"user_id\":\"{new string('u', 300)}\""), "user_id", "invalid_value"),

        // Well-formed JSON with a value of the wrong type: OpenAI's code for that is invalid_type.
        ["temperature a string"] = new(With("\"temperature\":\"hot\""), "temperature", "invalid_type"),
        ["stream a string"] = new(With("\"stream\":\"yes\""), "stream", "invalid_type"),
        ["messages a string"] = new("""{"messages":"hi"}""", "messages", "invalid_type"),
        ["n a fraction"] = new(With("\"n\":1.5"), "n", "invalid_type"),
        ["model a number"] = new(With("\"model\":5"), "model", "invalid_type"),
        ["max_tokens a string"] = new(With("\"max_tokens\":\"100\""), "max_tokens", "invalid_type"),
    };

    public static TheoryData<string> BrokenRules => new(Rules.Keys);

    [Theory, MemberData(nameof(BrokenRules))]
    public async Task BreakingARuleIsA400NamingTheParameter(string rule)
    {
        var (body, param, code) = Rules[rule];
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.ReadJsonAsync())["error"]!;
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Equal(param, (string?)error["param"]);
        Assert.Equal(code, (string?)error["code"]);
        var message = (string?)error["message"];
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.Contains(LastName(param), message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task MissingMessagesIsRejectedInTheSeedsExactWords()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync("""{"model":"junis-orchestrator"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var expected = JsonNode.Parse("""
            {"error":{"message":"Invalid request: 'messages' field is required","type":"invalid_request_error","param":"messages","code":"missing_required_field"}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, await response.ReadJsonAsync()), await response.Content.ReadAsStringAsync());
    }

    private static readonly Dictionary<string, (string Body, int Choices)> Edges = new()
    {
        ["temperature 0"] = (With("\"temperature\":0"), 1),
        ["temperature 2"] = (With("\"temperature\":2"), 1),
        ["top_p 0"] = (With("\"top_p\":0"), 1),
        ["top_p 1"] = (With("\"top_p\":1"), 1),
        ["frequency_penalty -2"] = (With("\"frequency_penalty\":-2"), 1),
        ["frequency_penalty 2"] = (With("\"frequency_penalty\":2"), 1),
        ["presence_penalty -2"] = (With("\"presence_penalty\":-2"), 1),
        ["presence_penalty 2"] = (With("\"presence_penalty\":2"), 1),
        ["max_tokens 1"] = (With("\"max_tokens\":1"), 1),
        ["max_completion_tokens 1"] = (With("\"max_completion_tokens\":1"), 1),
        ["n 1"] = (With("\"n\":1"), 1),
        ["n 8"] = (With("\"n\":8"), 8),
        ["stop with 4 sequences"] = (With("""
            "stop":["a","b","c","d"]
            """), 1),
        ["stop a single string"] = (With("\"stop\":\"END\""), 1),
        ["stop an empty array"] = (With("\"stop\":[]"), 1),
        ["tool_choice none without tools"] = (With("\"tool_choice\":\"none\""), 1),
        ["tool_choice auto without tools"] = (With("\"tool_choice\":\"auto\""), 1),
        ["tool_choice required with tools"] = (With($$"""
            "tools":[{{Tool}}],"tool_choice":"required"
            """), 1),
        ["tool_choice naming an offered tool"] = (With($$$"""
            "tools":[{{{Tool}}}],"tool_choice":{"type":"function","function":{"name":"weather"}}
            """), 1),
        ["128 tools"] = (With($"\"tools\":[{string.Join(",", Enumerable.Range(0, 128).Select(i => NamedTool($"tool_{i}")))}]"), 1),
        ["tool function name of 64 characters"] = (With(ToolNamed(new string('f', 64))), 1),
        ["tool function name with digits, dashes and underscores"] = (With(ToolNamed("get-weather_v2")), 1),
        ["tool parameters null"] = (With("""
            "tools":[{"type":"function","function":{"name":"weather","parameters":null}}]
            """), 1),
        ["conversation_id of 256 characters"] = (With($$"""
            "elevenlabs_extra_body":{"conversation_id":"{{new string('c', 256)}}"}
            """), 1),
        ["conversation_id null"] = (With("""
            "elevenlabs_extra_body":{"conversation_id":null}
            """), 1),
        ["user of 256 characters"] = (With($"\"user\":\"{new string('u', 256)}\""), 1),
        ["top_logprobs 0 and 20 with logprobs"] = (With("\"logprobs\":true,\"top_logprobs\":20"), 1),
        ["logit_bias of -100 and 100"] = (With("""
            "logit_bias":{"1":-100,"2":100}
            """), 1),
        ["metadata with 16 pairs"] = (With($"\"metadata\":{{{string.Join(",", Enumerable.Range(0, 16).Select(i => $"\"k{i}\":\"v\""))}}}"), 1),
        ["seed beyond 32 bits"] = (With("\"seed\":9007199254740991"), 1),
        ["json_schema name of 64 characters"] = (With("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"" + new string('s', 64)
            + "\",\"schema\":{\"type\":\"object\"}}}"), 1),
        ["tool call arguments empty"] = (Messages(Hi, """{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":""}}]}""",
            """{"role":"tool","tool_call_id":"call_1","content":"Sunny"}""", Hi), 1),
        ["image, audio and file parts"] = (Messages("""
            {"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"low"}},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},
              {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}},{"type":"file","file":{"file_id":"file-abc"}}]}
            """), 1),
        ["an assistant's refusal in the history"] = (Messages(Hi, """{"role":"assistant","content":null,"refusal":"I can't help with that."}""", Hi), 1),
        ["tool_choice allowing offered tools"] = (With($$$"""
            "tools":[{{{Tool}}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"weather"}}]}}
            """), 1),
        ["legacy functions and a function result"] = ("""
            {"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"function_call":{"name":"weather","arguments":"{}"}},
              {"role":"function","name":"weather","content":"Sunny"}],
             "functions":[{"name":"weather","parameters":{"type":"object"}}],"function_call":"auto"}
            """, 1),
        ["null for every optional field"] = ("""
            {"messages":[{"role":"user","content":"hi","name":null,"tool_calls":null,"tool_call_id":null}],
             "model":null,"stream":null,"temperature":null,"max_tokens":null,"max_completion_tokens":null,"top_p":null,
             "frequency_penalty":null,"presence_penalty":null,"stop":null,"n":null,"tools":null,"tool_choice":null,
             "parallel_tool_calls":null,"user":null,"stream_options":null,"elevenlabs_extra_body":null,"session_id":null,"user_id":null}
            """, 1),
    };

    public static TheoryData<string> EdgeCases => new(Edges.Keys);

    [Theory, MemberData(nameof(EdgeCases))]
    public async Task ValuesAtTheEdgeOfEachRuleAreAccepted(string edge)
    {
        var (body, choices) = Edges[edge];
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(body);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var completion = await response.ReadJsonAsync();
        Assert.Equal("chat.completion", (string?)completion["object"]);
        Assert.Equal(choices, completion["choices"]!.AsArray().Count);
    }

    private static string Messages(params string[] messages) => $$"""{"messages":[{{string.Join(",", messages)}}]}""";

    private static string Assistant(params string[] calls) =>
        Messages($$"""{"role":"assistant","content":null,"tool_calls":[{{string.Join(",", calls)}}]}""", Hi);

    /// <summary>A valid request with more fields: <c>With("\"n\":2")</c>.</summary>
    private static string With(string fields) => $$"""{"messages":[{{Hi}}],{{fields.Trim()}}}""";

    private static string NamedTool(string name) => $$$"""{"type":"function","function":{"name":"{{{name}}}"}}""";

    private static string ToolNamed(string name) => $"\"tools\":[{NamedTool(name)}]";

    /// <summary><c>messages[0].tool_calls[1].id</c> → <c>id</c>: the word a helpful message cannot do without.</summary>
    private static string LastName(string param)
    {
        var last = param[(param.LastIndexOf('.') + 1)..];
        return last.Contains('[') ? last[..last.IndexOf('[')] : last;
    }

    public void Dispose() => _app.Dispose();
}
