using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.Llm;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;

namespace Junis.Server.Tests.Llm;

/// <summary>The OpenAI provider, over real HTTP, against a fake OpenAI-compatible model server.</summary>
public sealed class OpenAIProviderTests : IAsyncLifetime
{
    private readonly FakeOpenAIServer _model = new();
    private JunisApp _app = null!;

    public Task InitializeAsync()
    {
        _app = new JunisApp(_model.Settings(timeoutSeconds: 2));
        // A real socket: a stream the server breaks off reaches the client as it would in production, its last events included.
        _app.UseKestrel();
        _app.StartServer();
        return Task.CompletedTask;
    }

    private HttpClient Client => _app.CreateAuthorizedClient();

    [Fact]
    public async Task TheModelsReplyAndUsageComeBackWhole()
    {
        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hello from the model", (string)body["choices"]![0]!["message"]!["content"]!);
        Assert.Equal("junis-orchestrator", (string)body["model"]!);
        Assert.Equal(9, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(4, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task UsageBeyondThirtyTwoBitsIsAddedUpWithoutOverflowing()
    {
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Costly"], usage: (2_000_000_000, 2_000_000_000));

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true, stream_options = new { include_usage = true } });
        var usage = (await response.ReadEventsAsync()).Chunks()[^1]["usage"]!;

        Assert.Equal(2_000_000_000L, (long)usage["prompt_tokens"]!);
        Assert.Equal(4_000_000_000L, (long)usage["total_tokens"]!);
    }

    [Fact]
    public async Task TheModelsDeltasStreamThrough()
    {
        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true, stream_options = new { include_usage = true } });
        var events = await response.ReadEventsAsync();
        var chunks = events.Chunks();

        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(["Hello", " from", " the", " model"], chunks.Skip(1).Where(c => c["choices"]!.AsArray().Count > 0)
            .Select(c => (string?)c["choices"]![0]!["delta"]!["content"]).OfType<string>());
        Assert.Equal(4, (int)chunks[^1]["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task ParametersReachTheModelServer()
    {
        using var _ = await Client.PostCompletionAsync("""
            {"model":"anything","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],
             "temperature":0.2,"top_p":0.8,"frequency_penalty":0.1,"presence_penalty":0.3,"max_tokens":50,"stop":["END","STOP"],"user":"caller-42"}
            """);

        var request = Assert.Single(_model.Requests);
        Assert.Equal("Bearer sk-upstream-secret", request.Authorization);
        var body = request.Body;
        Assert.Equal("fake-model", (string)body["model"]!);
        Assert.Equal(0.2, (double)body["temperature"]!, 5);
        Assert.Equal(0.8, (double)body["top_p"]!, 5);
        Assert.Equal(0.1, (double)body["frequency_penalty"]!, 5);
        Assert.Equal(0.3, (double)body["presence_penalty"]!, 5);
        Assert.Equal(50, (int)body["max_completion_tokens"]!);
        Assert.Null(body["max_tokens"]);
        Assert.Equal(["END", "STOP"], body["stop"]!.AsArray().Select(s => (string)s!));
        Assert.Equal(["system", "user"], body["messages"]!.AsArray().Select(m => (string)m!["role"]!));
        Assert.Equal("caller-42", (string)body["user"]!);
        Assert.Contains("\"temperature\":0.2,", body.ToJsonString());
        Assert.Null(body["tools"]);
        Assert.Null(body["parallel_tool_calls"]);
    }

    [Fact]
    public async Task ALocalModelServerWithoutAKeyGetsNoAuthorizationHeader()
    {
        using var app = new JunisApp(new Dictionary<string, string?>(_model.Settings()) { ["Junis:Llm:ApiKey"] = "" });

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", Assert.Single(_model.Requests).Authorization);
    }

    [Fact]
    public async Task TheModelServerIsSentNoTraceContextOfOurs()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(new { messages = new[] { Api.UserMessage("hi") } }) };
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = Assert.Single(_model.Requests).Headers;
        Assert.DoesNotContain("traceparent", headers.Keys, StringComparer.OrdinalIgnoreCase);
        Assert.DoesNotContain("Request-Id", headers.Keys, StringComparer.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ARedirectFromTheModelServerIsReportedNotFollowed()
    {
        _model.Handler = (context, _) =>
        {
            context.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
            context.Response.Headers.Location = _model.BaseUrl + "/chat/completions";
            return Task.CompletedTask;
        };

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("HTTP 307", (string)(await response.ReadJsonAsync())["error"]!["message"]!);
        Assert.Single(_model.Requests);
    }

    [Fact]
    public async Task TheOutputLimitCanTravelAsMaxTokensForServersThatReadOnlyThat()
    {
        using var app = new JunisApp(new Dictionary<string, string?>(_model.Settings()) { ["Junis:Llm:MaxTokensField"] = "max_tokens" });

        using var _ = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, max_completion_tokens = 40 });

        var body = Assert.Single(_model.Requests).Body;
        Assert.Equal(40, (int)body["max_tokens"]!);
        Assert.Null(body["max_completion_tokens"]);
    }

    [Fact]
    public async Task TheModelStreamsOnlyWhenTheCallerDoes()
    {
        (await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("whole") } })).Dispose();
        (await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("streamed") }, stream = true })).Dispose();

        Assert.NotEqual(true, (bool?)_model.Requests[0].Body["stream"]);
        Assert.True((bool)_model.Requests[1].Body["stream"]!);
    }

    [Fact]
    public async Task AModelServerErrorBecomes502SayingWhoseFaultItWas()
    {
        _model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, 500, "The server had an error while processing your request.", "server_error");

        foreach (var stream in new[] { false, true })
        {
            using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream });
            var error = (await response.ReadJsonAsync())["error"]!;

            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Equal("api_error", (string)error["type"]!);
            Assert.Equal("The model provider failed (HTTP 500).", (string)error["message"]!);
        }
    }

    [Fact]
    public async Task AModelThatDoesNotAnswerInTimeBecomes504()
    {
        _model.Handler = async (context, _) => await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);

        var started = DateTime.UtcNow;
        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true });

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("timeout", (string)(await response.ReadJsonAsync())["error"]!["code"]!);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task AStreamCutOffMidwayEndsWithAnErrorEventAndNoDone()
    {
        // The model's connection is torn down once the first two words have come out of the server.
        var passedOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Once", " upon", " a", " time"],
            cutAfter: 2, cutWhen: passedOn.Task);

        var (response, events, broken) = await Client.StreamAsync(new { messages = new[] { Api.UserMessage("story") }, stream = true }, onEvent: data =>
        {
            if (data.Contains("\" upon\"", StringComparison.Ordinal))
                passedOn.TrySetResult();
        });
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(broken);
        Assert.DoesNotContain("[DONE]", events);
        Assert.Equal("api_error", (string)JsonNode.Parse(events[^1])!["error"]!["type"]!);
        Assert.Equal("Once upon", string.Concat(events.SkipLast(1).Chunks().Select(c => (string?)c["choices"]![0]!["delta"]!["content"])));
    }

    [Fact]
    public async Task AWholeAnswerCutOffMidwayIsA502()
    {
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Once", " upon", " a", " time"], cutAfter: 2);

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("story") } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public async Task TheModelsOwnRefusalBecomes400WithItsMessage()
    {
        const string tooLong = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.";
        _model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, 400, tooLong);

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (string)error["type"]!);
        Assert.Equal(tooLong, (string)error["message"]!);
    }

    [Fact]
    public async Task RejectedUpstreamCredentialsAreTheServersProblemNotTheCallers()
    {
        _model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, StatusCodes.Status401Unauthorized, "Incorrect API key provided.", "invalid_request_error");

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("The model provider refused this server's credentials (HTTP 401).", (string)(await response.ReadJsonAsync())["error"]!["message"]!);
    }

    [Fact]
    public async Task AnUnreachableModelServerIsA502()
    {
        var closedPort = new Dictionary<string, string?>(_model.Settings()) { ["Junis:Llm:BaseUrl"] = "http://127.0.0.1:1/v1" };
        using var app = new JunisApp(closedPort);

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("could not be reached", (string)(await response.ReadJsonAsync())["error"]!["message"]!);
    }

    [Fact]
    public async Task TheServerKeepsServingAfterModelFailures()
    {
        _model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, 503, "overloaded", "server_error");
        using var failed = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["fine"]);
        using var recovered = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Fact]
    public async Task AModelThatFallsSilentMidStreamEndsWithATimeoutEvent()
    {
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Once", " upon", " a", " time"],
            delay: TimeSpan.FromMilliseconds(100), stallAfter: 2);

        var started = DateTime.UtcNow;
        var (response, events, broken) = await Client.StreamAsync(new { messages = new[] { Api.UserMessage("story") }, stream = true });
        using var _ = response;
        Assert.NotNull(broken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("[DONE]", events);
        Assert.Equal("timeout", (string)JsonNode.Parse(events[^1])!["error"]!["code"]!);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task ACallerTakingLongerThanTheTimeoutOverChunksAlreadyArrivedIsNotAModelTimeout()
    {
        // The whole answer arrives at once; the caller then dwells on every update for longer than the timeout.
        var client = new OpenAICompatibleChatClient(new HttpClient(), new LlmOptions
        {
            Provider = LlmProvider.OpenAI, BaseUrl = _model.BaseUrl, Model = "fake-model", TimeoutSeconds = 1,
        }, NullLogger.Instance);

        var text = new StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]))
        {
            text.Append(update.Text);
            await Task.Delay(TimeSpan.FromSeconds(0.6));
        }

        Assert.Equal("Hello from the model", text.ToString());
    }

    [Fact]
    public async Task AnErrorTheModelSendsMidStreamEndsTheStreamWithoutItsReport()
    {
        _model.Handler = async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = "Hel" }, null));
            await FakeOpenAIServer.WriteEventAsync(context, """{"error":{"message":"The engine is overloaded.","type":"server_error"}}""");
        };

        var (response, events, broken) = await Client.StreamAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true });
        using var _ = response;
        Assert.NotNull(broken);

        Assert.DoesNotContain("[DONE]", events);
        var error = JsonNode.Parse(events[^1])!["error"]!;
        Assert.Equal("api_error", (string)error["type"]!);
        Assert.Equal("The model provider failed mid-answer.", (string)error["message"]!);
    }

    [Fact]
    public async Task AnAnswerThatIsNotJsonIsA502()
    {
        _model.Handler = (context, _) => context.Response.WriteAsync("<html>gateway</html>");

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("could not be read", (string)(await response.ReadJsonAsync())["error"]!["message"]!);
    }

    [Fact]
    public async Task ConfiguredRetriesRideOutAPassingFailureAndHonourRetryAfter()
    {
        using var app = new JunisApp(new Dictionary<string, string?>(_model.Settings()) { ["Junis:Llm:MaxRetries"] = "2" });
        var calls = 0;
        _model.Handler = (context, body) =>
        {
            if (Interlocked.Increment(ref calls) > 1)
                return FakeOpenAIServer.StreamAsync(context, body, ["fine"]);
            context.Response.Headers.RetryAfter = "0";
            return FakeOpenAIServer.ErrorAsync(context, 503, "overloaded", "server_error");
        };

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fine", (string)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]!);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task TheCallersOwnMistakesAreNotRetried()
    {
        using var app = new JunisApp(new Dictionary<string, string?>(_model.Settings()) { ["Junis:Llm:MaxRetries"] = "2" });
        _model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, 400, "Bad parameter.");

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Single(_model.Requests);
    }

    [Theory]
    [InlineData("\"auto\"", "auto")]
    [InlineData("\"none\"", "none")]
    [InlineData("\"required\"", "required")]
    public async Task EachToolChoiceModeReachesTheModel(string toolChoice, string sent)
    {
        using var _ = await Client.PostCompletionAsync("""
            {"messages":[{"role":"user","content":"hi"}],"parallel_tool_calls":false,
             "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{}}}}],
             "tool_choice":
            """ + toolChoice + "}");

        var body = Assert.Single(_model.Requests).Body;
        Assert.Equal(sent, (string)body["tool_choice"]!);
        Assert.False((bool)body["parallel_tool_calls"]!);
        Assert.Equal("lookup", (string)body["tools"]![0]!["function"]!["name"]!);
    }

    [Fact]
    public async Task AStreamThatClosesBeforeTheAnswerFinishedIsNotTakenForComplete()
    {
        _model.Handler = async (context, _) =>
        {
            // Two words, then the body ends cleanly: no finish_reason, no [DONE].
            context.Response.ContentType = "text/event-stream";
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = "Once" }, null));
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = " upon" }, null));
        };

        var (response, events, broken) = await Client.StreamAsync(new { messages = new[] { Api.UserMessage("story") }, stream = true });
        using var _ = response;
        Assert.NotNull(broken);

        Assert.DoesNotContain("[DONE]", events);
        Assert.Contains("before the answer was complete", (string)JsonNode.Parse(events[^1])!["error"]!["message"]!);
    }

    [Fact]
    public async Task AStreamThatFinishedButSentNoDoneIsComplete()
    {
        _model.Handler = async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = "Done." }, null));
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject(), "stop"));
        };

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true });
        var events = await response.ReadEventsAsync();

        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal("stop", (string)events.Chunks()[^1]["choices"]![0]!["finish_reason"]!);
    }

    [Fact]
    public async Task ToolCallsStreamedWithoutAnIndexStayApart()
    {
        // Some OpenAI-compatible servers leave out "index": each call's first piece carries its id.
        _model.Handler = async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            foreach (var (id, name, arguments) in new[] { ("call_a", "lookup", "{\"q\":1}"), ("call_b", "notify", "{\"to\":2}") })
            {
                await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = name, ["arguments"] = "" } }),
                }, null));
                await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject { ["function"] = new JsonObject { ["arguments"] = arguments } }),
                }, null));
            }
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject(), "tool_calls"));
            await FakeOpenAIServer.WriteEventAsync(context, "[DONE]");
        };

        using var response = await Client.PostCompletionAsync("""
            {"messages":[{"role":"user","content":"go"}],"stream":true,
             "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{}}}},
                      {"type":"function","function":{"name":"notify","parameters":{"type":"object","properties":{}}}}]}
            """);
        var pieces = (await response.ReadEventsAsync()).Chunks()
            .SelectMany(c => c["choices"]!.AsArray())
            .SelectMany(c => c!["delta"]!["tool_calls"]?.AsArray() ?? [])
            .ToList();
        var calls = pieces.GroupBy(p => (int)p!["index"]!).OrderBy(g => g.Key).ToList();

        Assert.Equal([0, 1], calls.Select(g => g.Key));
        Assert.Equal(["call_a", "call_b"], calls.Select(g => (string?)g.First()!["id"]));
        Assert.Equal(["lookup", "notify"], calls.Select(g => (string?)g.First()!["function"]!["name"]));
        Assert.Equal(["{\"q\":1}", "{\"to\":2}"], calls.Select(g => string.Concat(g.Select(p => (string?)p!["function"]!["arguments"]))));
    }

    [Fact]
    public async Task ToolCallArgumentsInTheHistoryReachTheModelAsWritten()
    {
        const string arguments = "{ \"city\" : \"Seoul\",\n  \"unit\": \"celsius\" }";
        using var _ = await Client.PostCompletionAsync(new
        {
            messages = new object[]
            {
                Api.UserMessage("Weather?"),
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "get_weather", arguments } } } },
                new { role = "tool", tool_call_id = "call_1", content = "Sunny" },
            },
        });

        var sent = Assert.Single(_model.Requests).Body["messages"]!.AsArray();
        Assert.Equal(arguments, (string)sent[1]!["tool_calls"]![0]!["function"]!["arguments"]!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ToolCallArgumentsWrittenAsAnEmptyStringGoBothWaysAsWritten(bool stream)
    {
        // Some models write "" for a call without arguments: the caller gets "", and "" sent back reaches the model again.
        var tool = new { type = "function", function = new { name = "hang_up", parameters = new { type = "object", properties = new { } } } };
        _model.Handler = (context, body) => body["messages"]!.AsArray().Count == 1
            ? FakeOpenAIServer.ToolCallAsync(context, body, "hang_up", [""])
            : FakeOpenAIServer.StreamAsync(context, body, ["Done."]);

        var first = new { messages = new[] { Api.UserMessage("Hang up.") }, tools = new[] { tool }, stream };
        string arguments;
        if (stream)
        {
            var (response, events, _) = await Client.StreamAsync(first);
            using var _ = response;
            var pieces = events.Chunks().Select(c => c["choices"]!.AsArray().FirstOrDefault()?["delta"]?["tool_calls"]?[0]?["function"]?["arguments"]);
            arguments = string.Concat(pieces.OfType<JsonNode>().Select(p => (string)p!));
            Assert.Contains(events.Chunks(), c => c["choices"]!.AsArray().FirstOrDefault()?["delta"]?["tool_calls"] is not null);
        }
        else
        {
            using var response = await Client.PostCompletionAsync(first);
            arguments = (string)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["tool_calls"]![0]!["function"]!["arguments"]!;
        }
        using var second = await Client.PostCompletionAsync(new
        {
            messages = new object[]
            {
                Api.UserMessage("Hang up."),
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_fake1", type = "function", function = new { name = "hang_up", arguments } } } },
                new { role = "tool", tool_call_id = "call_fake1", content = "done" },
            },
            tools = new[] { tool },
        });

        Assert.Equal("", arguments);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("", (string)_model.Requests[1].Body["messages"]![1]!["tool_calls"]![0]!["function"]!["arguments"]!);
    }

    [Fact]
    public async Task AnErrorMessageAtTheTopOfTheBodyIsPassedOn()
    {
        _model.Handler = (context, _) =>
        {
            context.Response.StatusCode = 400;
            return context.Response.WriteAsync("""{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}""");
        };

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("max_tokens is too large", (string)(await response.ReadJsonAsync())["error"]!["message"]!);
    }

    [Fact]
    public async Task AnErrorBodyTooLongToBeAMessageIsNotPassedOn()
    {
        var huge = new string('x', 200_000);
        _model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, 500, huge, "server_error");

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });
        var message = (string)(await response.ReadJsonAsync())["error"]!["message"]!;

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("HTTP 500", message);
        Assert.DoesNotContain("xxxx", message);
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _model.DisposeAsync();
    }
}
