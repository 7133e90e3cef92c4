using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using OpenAI.Chat;

namespace Junis.Server.Tests.Tools;

/// <summary>The model's own tool calls, over real HTTP from a fake OpenAI-compatible model, through to the client.</summary>
public sealed class NativeToolCallTests : IAsyncLifetime
{
    private static readonly string[] Pieces = ["{\"ci", "ty\":\"Se", "oul\",\"unit\"", ":\"celsius\"}"];
    private const string Arguments = "{\"city\":\"Seoul\",\"unit\":\"celsius\"}";

    private readonly FakeOpenAIServer _model = new();
    private JunisApp _app = null!;

    public Task InitializeAsync()
    {
        // The model calls the weather tool until it has a tool result, then answers from it.
        _model.Handler = (context, body) => (string?)body["messages"]!.AsArray()[^1]!["role"] == "tool"
            ? FakeOpenAIServer.StreamAsync(context, body, ["It is ", "sunny in Seoul."])
            : FakeOpenAIServer.ToolCallAsync(context, body, "get_weather", Pieces);
        _app = new JunisApp(_model.Settings());
        return Task.CompletedTask;
    }

    private static readonly object WeatherTool = new
    {
        type = "function",
        function = new
        {
            name = "get_weather",
            description = "Current weather",
            parameters = new { type = "object", properties = new { city = new { type = "string" }, unit = new { type = "string" } }, required = new[] { "city" } },
        },
    };

    [Fact]
    public async Task StreamedToolCallsArriveAsWellFormedDeltasInPieces()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new
        {
            messages = new[] { Api.UserMessage("Weather in Seoul?") }, tools = new[] { WeatherTool }, stream = true,
        });
        var events = await response.ReadEventsAsync();
        var calls = events.Chunks().Select(c => c["choices"]![0]!).Where(c => c["delta"]!["tool_calls"] is not null)
            .Select(c => c["delta"]!["tool_calls"]![0]!.AsObject()).ToList();

        Assert.Equal("[DONE]", events[^1]);
        var first = calls[0];
        Assert.Equal(0, (int)first["index"]!);
        Assert.Equal("call_fake1", (string)first["id"]!);
        Assert.Equal("function", (string)first["type"]!);
        Assert.Equal("get_weather", (string)first["function"]!["name"]!);
        Assert.NotNull(first["function"]!["arguments"]);
        Assert.Equal(Pieces.Length + 1, calls.Count); // passed on piece by piece, not in one burst at the end
        Assert.All(calls.Skip(1), c =>
        {
            Assert.Equal(["index", "function"], c.Select(p => p.Key));
            Assert.Equal(["arguments"], c["function"]!.AsObject().Select(p => p.Key));
        });
        Assert.Equal(Arguments, string.Concat(calls.Select(c => (string)c["function"]!["arguments"]!)));
        Assert.Equal("tool_calls", (string)events.Chunks()[^1]["choices"]![0]!["finish_reason"]!);
    }

    [Fact]
    public async Task ToolsAndToolChoiceReachTheModelAsFunctionDeclarations()
    {
        using var _ = await _app.CreateAuthorizedClient().PostCompletionAsync(new
        {
            messages = new[] { Api.UserMessage("Weather?") }, tools = new[] { WeatherTool },
            tool_choice = new { type = "function", function = new { name = "get_weather" } },
        });

        var body = Assert.Single(_model.Requests).Body;
        var tool = body["tools"]![0]!;
        Assert.Equal("function", (string)tool["type"]!);
        Assert.Equal("get_weather", (string)tool["function"]!["name"]!);
        Assert.Equal("Current weather", (string)tool["function"]!["description"]!);
        Assert.Equal("city", (string)tool["function"]!["parameters"]!["required"]![0]!);
        Assert.Equal("get_weather", (string)body["tool_choice"]!["function"]!["name"]!);
    }

    [Fact]
    public async Task TheOfficialClientReassemblesNameAndArgumentsExactly()
    {
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}""")) } };
        var chat = OfficialClient.Chat(_app);

        string? id = null, name = null;
        var arguments = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Weather in Seoul?")], options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                Assert.Equal(0, call.Index);
                id ??= call.ToolCallId;
                name ??= call.FunctionName;
                arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }
        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("Weather in Seoul?")], options);

        Assert.Equal("call_fake1", id);
        Assert.Equal("get_weather", name);
        Assert.Equal(Arguments, arguments.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal(ChatFinishReason.ToolCalls, whole.FinishReason);
        Assert.Equal("get_weather", whole.ToolCalls[0].FunctionName);
        Assert.Equal(Arguments, whole.ToolCalls[0].FunctionArguments.ToString());
    }

    [Fact]
    public async Task AClientRunsTheWholeToolLoopThroughTheServer()
    {
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}""")) } };
        var chat = OfficialClient.Chat(_app);
        List<ChatMessage> history = [new UserChatMessage("Weather in Seoul?")];

        ChatCompletion call = await chat.CompleteChatAsync(history, options);
        history.Add(new AssistantChatMessage(call));
        history.Add(new ToolChatMessage(call.ToolCalls[0].Id, "Sunny, 21°C"));
        ChatCompletion answer = await chat.CompleteChatAsync(history, options);

        Assert.Equal("It is sunny in Seoul.", answer.Content[0].Text);
        var sent = _model.Requests[^1].Body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "tool"], sent.Select(m => (string)m!["role"]!));
        Assert.Equal("call_fake1", (string)sent[1]!["tool_calls"]![0]!["id"]!);
        Assert.Equal("get_weather", (string)sent[1]!["tool_calls"]![0]!["function"]!["name"]!);
        Assert.Equal(JsonNode.Parse(Arguments)!.ToJsonString(), JsonNode.Parse((string)sent[1]!["tool_calls"]![0]!["function"]!["arguments"]!)!.ToJsonString());
        Assert.Equal("call_fake1", (string)sent[2]!["tool_call_id"]!);
        Assert.Equal("Sunny, 21°C", (string)(sent[2]!["content"] is JsonArray parts ? parts[0]!["text"]! : sent[2]!["content"])!);

        // One session holds the loop, tool call and result included.
        var session = Assert.Single(await Sessions.SessionTestHelpers.SessionsAsync(_app));
        Assert.Equal(["user", "assistant", "tool", "assistant"], (await Sessions.SessionTestHelpers.MessagesAsync(_app, session.Id)).Select(m => m.Role));
    }

    [Fact]
    public async Task AToolTheModelAlreadyCalledIsNotCalledAgainByKeyword()
    {
        _model.Handler = async (context, body) =>
        {
            if (body["stream"]?.GetValue<bool>() != true)
            {
                await context.Response.WriteAsync("""
                    {"id":"chatcmpl-fake","object":"chat.completion","created":1,"model":"fake-model",
                     "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Goodbye!",
                       "tool_calls":[{"id":"call_model","type":"function","function":{"name":"end_call","arguments":"{\"reason\":\"done\"}"}}]}}],
                     "usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}
                    """);
                return;
            }
            context.Response.ContentType = "text/event-stream";
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "Goodbye!" }, null));
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject
            {
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["id"] = "call_model", ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = "end_call", ["arguments"] = "{\"reason\":\"done\"}" },
                }),
            }, null));
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject(), "tool_calls"));
            await FakeOpenAIServer.WriteEventAsync(context, "[DONE]");
        };
        var endCall = new { type = "function", function = new { name = "end_call", parameters = new { type = "object", properties = new { reason = new { type = "string" } } } } };

        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("bye") }, tools = new[] { endCall } });
        var message = (await response.ReadJsonAsync())["choices"]![0]!["message"]!;

        Assert.Equal("Goodbye!", (string)message["content"]!);
        var call = Assert.Single(message["tool_calls"]!.AsArray())!;
        Assert.Equal("call_model", (string)call["id"]!);
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _model.DisposeAsync();
    }
}
