using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Junis.Server.Llm;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;

namespace Junis.Server.Tests.ChatCompletions;

public sealed class StreamFailureTests
{
    private static async IAsyncEnumerable<ChatResponseUpdate> TwoWordsThenFailure([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return new ChatResponseUpdate(ChatRole.Assistant, "Once");
        yield return new ChatResponseUpdate(ChatRole.Assistant, " upon");
        await Task.Yield();
        throw new ModelCallException(502, "The model provider broke off the connection.");
    }

    [Fact]
    public async Task AFailureAfterTheFirstByteSendsOneErrorEventAndNoDone()
    {
        var model = new ScriptedModel((_, _, ct) => TwoWordsThenFailure(ct));
        using var app = new JunisApp(services: model.Install());
        // A real socket: the server breaks the connection off after the error event, which arrives first.
        app.UseKestrel();
        app.StartServer();

        var (response, events, broken) = await app.CreateAuthorizedClient().StreamAsync(new { messages = new[] { Api.UserMessage("story") }, stream = true });
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(broken);
        Assert.DoesNotContain("[DONE]", events);
        var error = JsonNode.Parse(events[^1])!["error"]!;
        Assert.Equal("The model provider broke off the connection.", (string)error["message"]!);
        Assert.Equal("api_error", (string)error["type"]!);
        Assert.Single(events, e => e.Contains("\"error\"", StringComparison.Ordinal));
        Assert.Equal("Once upon", string.Concat(events.SkipLast(1).Chunks().Select(c => (string?)c["choices"]![0]!["delta"]!["content"])));
        Assert.DoesNotContain(events.SkipLast(1).Chunks(), c => c["choices"]![0]!["finish_reason"] is not null);
    }

    [Fact]
    public async Task AFailureBeforeAnyOutputIsAnHttpError()
    {
        var model = new ScriptedModel((_, _, _) => throw new ModelCallException(504, "The model did not answer within 120 s."));
        using var app = new JunisApp(services: model.Install());
        var client = app.CreateAuthorizedClient();

        using var streamed = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true });
        using var whole = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        foreach (var response in new[] { streamed, whole })
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            var error = (await response.ReadJsonAsync())["error"]!;
            Assert.Equal("api_error", (string)error["type"]!);
            Assert.Equal("timeout", (string)error["code"]!);
        }
    }

    [Fact]
    public async Task AClientThatDisconnectsCancelsTheModelCallAtOnce()
    {
        var model = new ScriptedModel((_, _, ct) => ScriptedModel.Words(Enumerable.Repeat(" word", 1000), TimeSpan.FromMilliseconds(20), ct));
        using var app = new JunisApp(services: model.Install());
        // A real socket, so that hanging up is what it is in production: the connection closes.
        app.UseKestrel();
        app.StartServer();

        var response = await app.CreateAuthorizedClient().SendAsync(
            new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(new { messages = new[] { Api.UserMessage("hi") }, stream = true }) },
            HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        await body.ReadAtLeastAsync(new byte[64], 16);
        response.Dispose();

        // A thousand words 20 ms apart would take 20 s; the model must see the cancellation long before.
        await model.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AClientThatGivesUpOnAWholeAnswerCancelsTheModelCall()
    {
        var model = new ScriptedModel((_, _, ct) => ScriptedModel.Words(Enumerable.Repeat(" word", 1000), TimeSpan.FromMilliseconds(20), ct));
        using var app = new JunisApp(services: model.Install());
        using var abandon = new CancellationTokenSource();

        var call = app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } }, abandon.Token);
        await model.Called.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await abandon.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await model.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task SamplingParametersReachTheModel()
    {
        var model = ScriptedModel.Replying("ok");
        using var app = new JunisApp(services: model.Install());

        using var _ = await app.CreateAuthorizedClient().PostCompletionAsync("""
            {"messages":[{"role":"user","content":"hi"}],"temperature":0.3,"top_p":0.9,"frequency_penalty":0.5,
             "presence_penalty":-0.5,"max_tokens":42,"stop":["END"],"user":"caller-7"}
            """);

        var options = Assert.Single(model.Calls).Options!;
        Assert.Equal(0.3f, options.Temperature);
        Assert.Equal(0.9f, options.TopP);
        Assert.Equal(0.5f, options.FrequencyPenalty);
        Assert.Equal(-0.5f, options.PresencePenalty);
        Assert.Equal(42, options.MaxOutputTokens);
        Assert.Equal(["END"], options.StopSequences!);
    }

    [Fact]
    public async Task TheConfiguredSystemPromptComesBeforeTheCallersMessages()
    {
        var model = ScriptedModel.Replying("ok");
        using var app = new JunisApp(new() { ["Junis:Orchestrator:SystemPrompt"] = "You are Junis." }, model.Install());

        using var _ = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new object[] { new { role = "system", content = "Be brief." }, Api.UserMessage("hi") } });

        var messages = Assert.Single(model.Calls).Messages;
        Assert.Equal(["system:You are Junis.", "system:Be brief.", "user:hi"], messages.Select(m => $"{m.Role}:{m.Text}"));
    }
}
