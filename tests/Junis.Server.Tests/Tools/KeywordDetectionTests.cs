using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Tools;

/// <summary>Farewells and transfers in the assistant's reply become tool calls, in both response modes.</summary>
public sealed class KeywordDetectionTests : IDisposable
{
    private string _reply = "";
    private readonly JunisApp _app;

    public KeywordDetectionTests()
    {
        var model = new ScriptedModel((_, _, ct) => ScriptedModel.Words([_reply], TimeSpan.Zero, ct));
        _app = new JunisApp(services: model.Install());
    }

    private static object Tool(string name, object? parameters = null) =>
        new { type = "function", function = new { name, description = $"{name} tool", parameters = parameters ?? new { type = "object", properties = new { } } } };

    private static readonly object EndCall = Tool("end_call", new
    {
        type = "object",
        properties = new { reason = new { type = "string" }, message = new { type = "string" } },
        required = new[] { "reason" },
    });

    private static readonly object TransferCall = Tool("transfer_call", new { type = "object", properties = new { reason = new { type = "string" } } });

    private async Task<JsonNode> AskAsync(string reply, object[] tools, string userSays = "hello")
    {
        _reply = reply;
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = Conversation(("user", userSays)), tools });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["choices"]![0]!;
    }

    [Theory]
    [InlineData("Thank you for calling. Goodbye!", "goodbye")]
    [InlineData("GOODBYE and take care", "goodbye")]
    [InlineData("이용해 주셔서 감사합니다.", "감사합니다")]
    [InlineData("네, 안녕히 계세요.", "안녕히")]
    [InlineData("ｇｏｏｄｂｙｅ", "goodbye")] // full-width letters are the same word once normalized
    public async Task AFarewellBecomesEndCall(string reply, string heard)
    {
        var choice = await AskAsync(reply, [EndCall, TransferCall]);

        Assert.Equal("tool_calls", (string)choice["finish_reason"]!);
        Assert.Equal(reply, (string)choice["message"]!["content"]!);
        var call = Assert.Single(choice["message"]!["tool_calls"]!.AsArray())!;
        Assert.StartsWith("call_", (string)call["id"]!);
        Assert.Equal("function", (string)call["type"]!);
        Assert.Equal("end_call", (string)call["function"]!["name"]!);
        var arguments = JsonNode.Parse((string)call["function"]!["arguments"]!)!.AsObject();
        Assert.Equal(["reason", "message"], arguments.Select(a => a.Key));
        Assert.Contains(heard, (string)arguments["reason"]!);
        Assert.Equal(reply, (string)arguments["message"]!);
    }

    [Theory]
    [InlineData("상담원 연결 도와드리겠습니다.")]
    [InlineData("지금 전화 연결해 드릴게요.")]
    [InlineData("Let me connect agent Kim for you.")]
    [InlineData("I'll CONNECT AGENT now.")]
    public async Task ATransferBecomesTransferCall(string reply)
    {
        var choice = await AskAsync(reply, [EndCall, TransferCall]);

        var call = Assert.Single(choice["message"]!["tool_calls"]!.AsArray())!;
        Assert.Equal("transfer_call", (string)call["function"]!["name"]!);
        Assert.Equal("tool_calls", (string)choice["finish_reason"]!);
    }

    [Fact]
    public async Task ATransferWithAClosingThankYouIsATransfer()
    {
        var choice = await AskAsync("상담원 연결해 드리겠습니다. 감사합니다.", [EndCall, TransferCall]);

        Assert.Equal("transfer_call", (string)choice["message"]!["tool_calls"]![0]!["function"]!["name"]!);
    }

    [Fact]
    public async Task ElevenLabsTransferToolsAreServedByTheTransferDetector()
    {
        var transferToAgent = Tool("transfer_to_agent", new
        {
            type = "object",
            properties = new { reason = new { type = "string" }, agent_number = new { type = "integer", @enum = new[] { 2, 3 } } },
            required = new[] { "agent_number" },
        });

        var choice = await AskAsync("Sure, I will connect agent for you.", [EndCall, transferToAgent]);

        var call = choice["message"]!["tool_calls"]![0]!;
        Assert.Equal("transfer_to_agent", (string)call["function"]!["name"]!);
        var arguments = JsonNode.Parse((string)call["function"]!["arguments"]!)!;
        Assert.Equal(2, (int)arguments["agent_number"]!); // a required enum takes its first value
    }

    [Theory]
    [InlineData("We say goodbyes at the end of the day.")] // the word merely contains the phrase
    [InlineData("Goodbyeee")]
    [InlineData("How can I help you today?")]
    public async Task NoCallWithoutThePhraseAsAWord(string reply)
    {
        var choice = await AskAsync(reply, [EndCall, TransferCall]);

        Assert.Null(choice["message"]!["tool_calls"]);
        Assert.Equal("stop", (string)choice["finish_reason"]!);
    }

    [Fact]
    public async Task NoCallWhenOnlyTheCallerSaysIt()
    {
        var choice = await AskAsync("What else can I do for you?", [EndCall, TransferCall], userSays: "goodbye, connect agent, 감사합니다");

        Assert.Null(choice["message"]!["tool_calls"]);
    }

    [Fact]
    public async Task NoCallForAToolTheRequestDoesNotOffer()
    {
        var withOtherTools = await AskAsync("Goodbye!", [TransferCall]);
        var withoutTools = await AskAsync("Goodbye!", []);

        Assert.Null(withOtherTools["message"]!["tool_calls"]);
        Assert.Null(withoutTools["message"]!["tool_calls"]);
        Assert.Equal("stop", (string)withOtherTools["finish_reason"]!);
    }

    [Fact]
    public async Task NoCallWhenARequiredArgumentCannotBeDerived()
    {
        var needsANumber = Tool("transfer_to_number", new
        {
            type = "object",
            properties = new { transfer_number = new { type = "string" }, client_message = new { type = "string" } },
            required = new[] { "transfer_number", "client_message" },
        });

        var choice = await AskAsync("Let me connect agent.", [needsANumber]);

        Assert.Null(choice["message"]!["tool_calls"]);
        Assert.Equal("stop", (string)choice["finish_reason"]!);
    }

    [Fact]
    public async Task ArgumentsHoldOnlyWhatTheSchemaDeclares()
    {
        var bare = Tool("end_call");
        var choice = await AskAsync("Goodbye!", [bare]);

        Assert.Equal("{}", (string)choice["message"]!["tool_calls"]![0]!["function"]!["arguments"]!);
    }

    [Fact]
    public async Task AStreamedFarewellSendsTheTextThenOneToolCallDeltaThenTheFinish()
    {
        _reply = "Thanks for calling, goodbye!";
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = Conversation(("user", "bye")), tools = new[] { EndCall }, stream = true });
        var events = await response.ReadEventsAsync();
        var deltas = events.Chunks().Select(c => c["choices"]![0]!).ToList();

        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(_reply, string.Concat(deltas.Select(d => (string?)d["delta"]!["content"])));
        var toolDeltas = deltas.Where(d => d["delta"]!["tool_calls"] is not null).ToList();
        var call = Assert.Single(Assert.Single(toolDeltas)["delta"]!["tool_calls"]!.AsArray())!;
        Assert.Equal(0, (int)call["index"]!);
        Assert.StartsWith("call_", (string)call["id"]!);
        Assert.Equal("function", (string)call["type"]!);
        Assert.Equal("end_call", (string)call["function"]!["name"]!);
        Assert.Contains("goodbye", (string)call["function"]!["arguments"]!);
        Assert.True(deltas.IndexOf(toolDeltas[0]) > deltas.FindLastIndex(d => d["delta"]!["content"] is not null), "the call follows the text");
        Assert.Equal("tool_calls", (string)deltas[^1]["finish_reason"]!);
        Assert.Same(deltas[^1], deltas.Single(d => d["finish_reason"] is not null));
    }

    private async Task<JsonNode> AskWithHistoryAsync(string reply, object[] messages)
    {
        _reply = reply;
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages, tools = new[] { EndCall } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["choices"]![0]!;
    }

    private static object EndCallMessage(string id) =>
        new { role = "assistant", content = "Goodbye!", tool_calls = new[] { new { id, type = "function", function = new { name = "end_call", arguments = "{\"reason\":\"done\"}" } } } };

    [Fact]
    public async Task NoCallOnATurnWhoseInputEndsWithThatToolsResult()
    {
        // A client's tool loop: it ran end_call and sends the result back; the model says goodbye again.
        var choice = await AskWithHistoryAsync("Goodbye, and thanks for calling.",
        [
            new { role = "user", content = "That's all, thanks." },
            EndCallMessage("call_1"),
            new { role = "tool", tool_call_id = "call_1", content = "ended" },
        ]);

        Assert.Equal("stop", (string)choice["finish_reason"]!);
        Assert.Null(choice["message"]!["tool_calls"]);
    }

    [Fact]
    public async Task NoCallOfAToolTheLatestAssistantMessageAlreadyCalled()
    {
        var choice = await AskWithHistoryAsync("Goodbye!",
        [
            new { role = "user", content = "Bye." },
            EndCallMessage("call_1"),
            new { role = "tool", tool_call_id = "call_1", content = "ended" },
            new { role = "user", content = "Are you still there?" },
        ]);

        Assert.Equal("stop", (string)choice["finish_reason"]!);
        Assert.Null(choice["message"]!["tool_calls"]);
    }

    [Fact]
    public async Task AFarewellLaterInTheConversationIsHeardAgain()
    {
        // end_call was called turns ago, not by the latest assistant message: a new farewell is a new call.
        var choice = await AskWithHistoryAsync("Goodbye!",
        [
            new { role = "user", content = "Bye." },
            EndCallMessage("call_1"),
            new { role = "tool", tool_call_id = "call_1", content = "not ended: the caller is still there" },
            new { role = "assistant", content = "Oh, you are still here. How can I help?" },
            new { role = "user", content = "Nothing more, bye." },
        ]);

        Assert.Equal("tool_calls", (string)choice["finish_reason"]!);
        Assert.Equal("end_call", (string)choice["message"]!["tool_calls"]![0]!["function"]!["name"]!);
    }

    [Fact]
    public async Task ATurnEndingInEndCallMakesItsSessionInactive()
    {
        _reply = "Have a nice day. Goodbye!";
        var (session, _) = await _app.CreateAuthorizedClient().TurnAsync(new { messages = Conversation(("user", "that's all")), tools = new[] { EndCall } });
        _reply = "Hello again";
        var (other, _) = await _app.CreateAuthorizedClient().TurnAsync(new { messages = Conversation(("user", "hi")), tools = new[] { EndCall } });

        using var status = await _app.CreateAuthorizedClient().GetAsync($"/api/external/sessions/{session}/status");
        using var otherStatus = await _app.CreateAuthorizedClient().GetAsync($"/api/external/sessions/{other}/status");
        Assert.False((bool)(await status.ReadJsonAsync())["is_active"]!);
        Assert.True((bool)(await otherStatus.ReadJsonAsync())["is_active"]!);
    }

    [Fact]
    public async Task PhraseListsComeFromConfiguration()
    {
        var model = new ScriptedModel((_, _, ct) => ScriptedModel.Words(["Au revoir!"], TimeSpan.Zero, ct));
        using var app = new JunisApp(new()
        {
            ["Junis:Tools:Keywords:end_call:Phrases:0"] = "au revoir",
            ["Junis:Tools:Keywords:end_call:Phrases:1"] = "adieu",
            ["Junis:Tools:Keywords:end_call:Phrases:2"] = "bonne journée",
        }, model.Install());

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = Conversation(("user", "merci")), tools = new[] { EndCall } });

        Assert.Equal("end_call", (string)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["tool_calls"]![0]!["function"]!["name"]!);
    }

    public void Dispose() => _app.Dispose();
}
