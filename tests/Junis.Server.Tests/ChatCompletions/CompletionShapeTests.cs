using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.ChatCompletions;

public sealed class CompletionShapeTests : IDisposable
{
    private readonly JunisApp _app = new();

    [Fact]
    public async Task NonStreamingAnswerHasTheSeedsShapeFieldByField()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("What is Junis?") } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = (await response.ReadJsonAsync()).AsObject();
        Assert.Equal(["id", "object", "created", "model", "choices", "usage"], body.Select(p => p.Key));
        Assert.StartsWith("chatcmpl-", (string)body["id"]!);
        Assert.Equal("chat.completion", (string)body["object"]!);
        Assert.InRange((long)body["created"]!, before, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal("junis-orchestrator", (string)body["model"]!);

        var choice = Assert.Single(body["choices"]!.AsArray())!.AsObject();
        Assert.Equal(["index", "message", "logprobs", "finish_reason"], choice.Select(p => p.Key));
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Null(choice["logprobs"]);
        Assert.Equal("stop", (string)choice["finish_reason"]!);

        var message = choice["message"]!.AsObject();
        Assert.Equal(["role", "content", "refusal"], message.Select(p => p.Key));
        Assert.Equal("assistant", (string)message["role"]!);
        Assert.Equal("Echo: What is Junis?", (string)message["content"]!);
        Assert.Null(message["refusal"]);

        var usage = body["usage"]!.AsObject();
        Assert.Equal(["prompt_tokens", "completion_tokens", "total_tokens"], usage.Select(p => p.Key));
        Assert.True((int)usage["prompt_tokens"]! > 0);
        Assert.True((int)usage["completion_tokens"]! > 0);
        Assert.Equal((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, (int)usage["total_tokens"]!);
    }

    [Fact]
    public async Task UsageIsCountedWithTheO200kTokenizerWhenTheModelReportsNone()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("What is Junis?") } });
        var usage = (await response.ReadJsonAsync())["usage"]!;

        // "Echo: What is Junis?" is 7 o200k tokens; the prompt is 3 + (3 + "user" + "What is Junis?") = 3 + 3 + 1 + 5.
        Assert.Equal(7, (int)usage["completion_tokens"]!);
        Assert.Equal(12, (int)usage["prompt_tokens"]!);
    }

    [Fact]
    public async Task ResponsesNameTheConfiguredModelWhateverTheRequestSays()
    {
        using var app = new JunisApp(new() { ["Junis:Orchestrator:ModelName"] = "acme-orchestrator" });
        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { model = "gpt-4o", messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal("acme-orchestrator", (string)(await response.ReadJsonAsync())["model"]!);
    }

    [Fact]
    public async Task ContentMayBeAnArrayOfTextParts()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync("""
            {"messages":[{"role":"user","content":[{"type":"text","text":"Hello "},{"type":"text","text":"there"}]}]}
            """);

        Assert.Equal("Echo: Hello there", (string)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]!);
    }

    [Fact]
    public async Task NonAsciiTextIsWrittenAsUtf8NotEscapes()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("안녕하세요") } });

        Assert.Contains("Echo: 안녕하세요", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task NonAsciiTextIsStreamedAsUtf8NotEscapes()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("안녕하세요") }, stream = true });
        var body = await response.Content.ReadAsStringAsync();

        Assert.Contains("안녕하세요\"", body);
        Assert.DoesNotContain("\\u", body);
    }

    [Fact]
    public async Task UnknownFieldsAreIgnored()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync("""
            {"messages":[{"role":"user","content":"hi","extra":1}],"seed":7,"logit_bias":{"1":2},"metadata":{"a":"b"},"service_tier":"auto"}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task EveryRoleIsAccepted()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync("""
            {"messages":[
              {"role":"system","content":"Be brief."},
              {"role":"developer","content":"Really brief."},
              {"role":"user","content":"Weather?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Seoul\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"Sunny"},
              {"role":"assistant","content":"It is sunny."},
              {"role":"user","content":"Thanks"}]}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Echo: Thanks", (string)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]!);
    }

    [Fact]
    public async Task ModelsListsTheOrchestratorInOpenAIsShape()
    {
        using var response = await _app.CreateAuthorizedClient().GetAsync("/api/external/v1/models");
        var body = (await response.ReadJsonAsync()).AsObject();

        Assert.Equal("list", (string)body["object"]!);
        var model = Assert.Single(body["data"]!.AsArray())!.AsObject();
        Assert.Equal(["id", "object", "created", "owned_by"], model.Select(p => p.Key));
        Assert.Equal("junis-orchestrator", (string)model["id"]!);
        Assert.Equal("model", (string)model["object"]!);
    }

    [Fact]
    public async Task OneModelCanBeRetrievedByName()
    {
        var client = _app.CreateAuthorizedClient();
        using var found = await client.GetAsync("/api/external/v1/models/junis-orchestrator");
        using var missing = await client.GetAsync("/api/external/v1/models/gpt-4o");

        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("not_found_error", (string)(await missing.ReadJsonAsync())["error"]!["type"]!);
    }

    public void Dispose() => _app.Dispose();
}
