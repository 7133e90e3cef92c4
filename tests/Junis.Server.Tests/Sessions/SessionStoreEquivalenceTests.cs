using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;
using static Junis.Server.Tests.Sessions.StoreComparison;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// SQLite's fast path keeps sessions exactly as EF Core, the reference, keeps them: the same requests leave the same
/// replies, the same rows to the last literal, and the same Sessions API answers (see <see cref="StoreRun"/>). And
/// PostgreSQL keeps them as SQLite does, to the microsecond (see <see cref="StoreComparison.ToTheMicrosecond"/>).
/// </summary>
public sealed class SessionStoreEquivalenceTests
{
    private static object User(string text) => new { role = "user", content = text };

    private static object Assistant(string text) => new { role = "assistant", content = text };

    private static object Tool(string name) => new
    {
        type = "function",
        function = new { name, description = $"{name} tool", parameters = new { type = "object", properties = new { reason = new { type = "string" } } } },
    };

    private static int Count(List<string> kept, string table) => kept.Count(line => line.StartsWith(table + ": ", StringComparison.Ordinal));

    /// <summary>Whether a kept row has <paramref name="field"/> (<c>Name=value</c>) among its columns, wherever the table places it.</summary>
    private static bool Has(string row, string field) => $" {row} ".Contains($" {field} ", StringComparison.Ordinal);

    [Fact]
    public async Task AnUnnamedConversationResentWholeForThreeTurnsIsKeptAlike()
    {
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            var system = new { role = "system", content = "Be brief." };
            var one = await run.SendAsync(new { messages = new[] { system, User("one") } });
            var two = await run.SendAsync(new { messages = new[] { system, User("one"), Assistant(one.Text), User("two words and more") }, max_tokens = 2 });
            await run.StreamAsync(new { messages = new[] { system, User("one"), Assistant(one.Text), User("two words and more"), Assistant(two.Text), User("three") }, stream = true });
        });

        Assert.Equal(1, Count(kept, "Sessions"));
        Assert.Equal(6, Count(kept, "SessionMessages"));
        Assert.Contains(kept, line => line.Contains("FinishReason='length'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANamedConversationContinuedWithItsNewestMessageIsKeptAlike()
    {
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            await run.SendAsync(NamedTurn("session_id", "대화", "안녕하세요"));
            await run.StreamAsync(new { messages = Conversation(("user", "두 번째")), session_id = "대화", user_id = "caller-42", stream = true });
            var third = await run.SendAsync(new { messages = Conversation(("user", "third")), elevenlabs_extra_body = new { conversation_id = "대화" } });
            await run.SendAsync(new { messages = Conversation(("user", "by its own id")), session_id = third.Session.ToString() });
            await run.SendAsync(NamedTurn("conversation_id", "conv_el_1", "another"));
        });

        Assert.Equal(2, Count(kept, "Sessions"));
        Assert.Equal(10, Count(kept, "SessionMessages"));
        Assert.Contains(kept, line => line.Contains("ConversationId='대화'", StringComparison.Ordinal) && line.Contains("UserId='caller-42'", StringComparison.Ordinal));
        Assert.Contains(kept, line => line.Contains("ConversationId='conv_el_1'", StringComparison.Ordinal) && line.Contains("UserId=NULL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReplaysReplaceTheirRepliesAlike()
    {
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            var one = await run.SendAsync(new { messages = Conversation(("user", "one")) });
            var history = Conversation(("user", "one"), ("assistant", one.Text), ("user", "two"));
            await run.SendAsync(new { messages = history });
            await run.SendAsync(new { messages = history });
            await run.StreamAsync(new { messages = history, stream = true });

            var named = new { conversation_id = "voice-7" };
            var first = await run.SendAsync(new { messages = Conversation(("user", "one")), elevenlabs_extra_body = named });
            var second = Conversation(("user", "one"), ("assistant", first.Text), ("user", "two"));
            await run.SendAsync(new { messages = second, elevenlabs_extra_body = named });
            await run.SendAsync(new { messages = second, elevenlabs_extra_body = named });
        });

        Assert.Equal(2, Count(kept, "Sessions"));
        Assert.Equal(8, Count(kept, "SessionMessages"));
        // Each session counts its two turns once: the replayed reply's tokens replaced, not added.
        Assert.Equal(2, kept.Count(line => line.StartsWith("Sessions: ", StringComparison.Ordinal) && Has(line, "PromptTokens=28") && Has(line, "CompletionTokens=6")));
    }

    [Fact]
    public async Task AVoiceClientsCutShortTranscriptFindsItsSessionAlike()
    {
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            var first = await run.SendAsync(new { messages = Conversation(("user", "tell me everything")) });
            var cut = first.Text[..8];
            var next = await run.SendAsync(new { messages = Conversation(("user", "tell me everything"), ("assistant", cut), ("user", "stop, please")) });
            await run.SendAsync(new
            {
                messages = Conversation(("user", "tell me everything"), ("assistant", cut), ("user", "stop, please"), ("assistant", next.Text), ("user", "thanks")),
            });
        });

        Assert.Equal(1, Count(kept, "Sessions"));
        Assert.Equal(6, Count(kept, "SessionMessages"));
        Assert.Single(kept, line => line.StartsWith("SessionMessages: ", StringComparison.Ordinal) && !line.Contains("HeardContent=NULL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ToolCallsToolResultsAndAnEndedCallAreKeptAlike()
    {
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            object[] tools = [Tool("weather"), Tool("end_call")];
            object[] messages =
            [
                User("Weather in Seoul?"),
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_w1", type = "function", function = new { name = "weather", arguments = """{"city":"Seoul"}""" } } } },
                new { role = "tool", tool_call_id = "call_w1", content = "Sunny, 21°C" },
                User("Thanks, goodbye"),
            ];
            await run.SendAsync(new { messages, tools, user_id = "caller-7" });
            await run.StreamAsync(new { messages = Conversation(("user", "Okay, goodbye")), tools, session_id = "streamed-farewell", stream = true });
        });

        Assert.Equal(2, Count(kept, "Sessions"));
        Assert.Equal(2, kept.Count(line => line.StartsWith("Sessions: ", StringComparison.Ordinal) && line.Contains("EndedAt='2026-", StringComparison.Ordinal)));
        Assert.Contains(kept, line => line.Contains("Role='assistant' Content=NULL ToolCalls='[{", StringComparison.Ordinal));
        Assert.Contains(kept, line => line.Contains("ToolCallId='call_w1'", StringComparison.Ordinal));
        Assert.Equal(2, kept.Count(line => line.StartsWith("SessionMessages: ", StringComparison.Ordinal) && line.Contains("end_call", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RefusalsNamesAndImagePartsAreKeptAlike()
    {
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) => body["messages"]!.AsArray()[^1]!["content"]!.ToJsonString().Contains("lock", StringComparison.Ordinal)
                ? FakeOpenAIServer.RefusalAsync(context, body, ["I can't", " help with that."])
                : FakeOpenAIServer.StreamAsync(context, body, ["I see", " a cat."]),
        };
        JsonArray Image(string url) => [new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = url, ["detail"] = "low" } }];
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            var withText = Image("https://example.com/cat.png");
            withText.Add(new JsonObject { ["type"] = "text", ["text"] = "What is this?" });
            var asked = new JsonObject { ["role"] = "user", ["name"] = "alice", ["content"] = withText };
            var first = await run.SendAsync(new JsonObject { ["messages"] = new JsonArray(asked) });
            await run.SendAsync(new JsonObject
            {
                ["messages"] = new JsonArray(asked.DeepClone(), new JsonObject { ["role"] = "assistant", ["content"] = first.Text },
                    new JsonObject { ["role"] = "user", ["content"] = Image("data:image/png;base64,iVBORw0KGgo=") }),
            });
            await run.SendAsync(new { messages = Conversation(("user", "Help me pick a lock.")) });
            await run.StreamAsync(new { messages = Conversation(("user", "And this lock?")), session_id = "locks", stream = true });
        }, new StoreSetup(model.Settings()));

        Assert.Equal(3, Count(kept, "Sessions"));
        Assert.Equal(8, Count(kept, "SessionMessages"));
        Assert.Contains(kept, line => line.Contains("Content='' ", StringComparison.Ordinal) && line.Contains("Parts='[{", StringComparison.Ordinal));
        Assert.Contains(kept, line => line.Contains("Name='alice'", StringComparison.Ordinal));
        Assert.Equal(2, kept.Count(line => line.StartsWith("SessionMessages: ", StringComparison.Ordinal) && line.Contains("Content=NULL", StringComparison.Ordinal)
            && line.Contains("Refusal='I can''t help with that.'", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task FailedModelCallsAndTheirRetriesAreKeptAlike()
    {
        var failures = 0;
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) => failures-- > 0
                ? FakeOpenAIServer.Streams(body)
                    ? FakeOpenAIServer.WordsThenErrorAsync(context, ["Half", " an"], "The model broke off.")
                    : FakeOpenAIServer.ErrorAsync(context, 500, "boom", "server_error")
                : FakeOpenAIServer.StreamAsync(context, body, ["Better", " now"]),
        };
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            var named = new { messages = Conversation(("user", "are you there?")), elevenlabs_extra_body = new { conversation_id = "flaky" } };
            failures = 1;
            await run.SendAsync(named, HttpStatusCode.BadGateway);
            await run.SendAsync(named);

            var unnamed = Conversation(("user", "from elsewhere"), ("assistant", "an answer"), ("user", "and then"));
            failures = 1;
            await run.StreamAsync(new { messages = unnamed, stream = true }, broken: true);
            await run.StreamAsync(new { messages = unnamed, stream = true });
        }, new StoreSetup(model.Settings()));

        Assert.Equal(2, Count(kept, "Sessions"));
        Assert.Equal(6, Count(kept, "SessionMessages"));
    }

    [Fact]
    public async Task TokenTotalsBeyondThirtyTwoBitsAreKeptAlike()
    {
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Costly"], usage: (2_000_000_000, 7)),
        };
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            await run.SendAsync(NamedTurn("session_id", "costly", "one"));
            await run.SendAsync(NamedTurn("session_id", "costly", "two"));
        }, new StoreSetup(model.Settings()));

        Assert.Contains(kept, line => Has(line, "PromptTokens=4000000000") && Has(line, "CompletionTokens=14"));
    }

    [Fact]
    public async Task AStreamItsClientAbandonsIsKeptInterruptedAlike()
    {
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            await run.AbandonStreamAsync(new { messages = Conversation(("user", "a long story")), stream = true }, until: " time");
            await run.SendAsync(new { messages = Conversation(("user", "a long story"), ("assistant", "Once upon a time"), ("user", "go on")) });
        }, new StoreSetup(OverSockets: true, Model: () => new ScriptedModel((messages, _, ct) => messages[^1].Text == "a long story"
            ? WordsThenWaitAsync(["Once", " upon", " a", " time"], ct)
            : ScriptedModel.Words(["And", " then"], TimeSpan.Zero, ct))));

        Assert.Equal(1, Count(kept, "Sessions"));
        Assert.Contains(kept, line => line.Contains("Content='Once upon a time'", StringComparison.Ordinal) && line.Contains("Interrupted=1", StringComparison.Ordinal));
        Assert.Equal(4, Count(kept, "SessionMessages"));
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> WordsThenWaitAsync(string[] words, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var word in words)
            yield return new ChatResponseUpdate(ChatRole.Assistant, word);
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    [Fact]
    public async Task DeletedSessionsAddressedAgainStartAfreshAlike()
    {
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            await run.SendAsync(NamedTurn("session_id", "to-forget", "first"));
            await run.SendAsync(NamedTurn("session_id", "to-forget", "second"));
            Assert.Equal(HttpStatusCode.NoContent, await run.DeleteAsync("to-forget"));
            await run.SendAsync(NamedTurn("session_id", "to-forget", "after"));

            var unnamed = await run.SendAsync(new { messages = Conversation(("user", "unnamed")) });
            await run.DeleteAsync(unnamed.Session.ToString());
            Assert.Equal(HttpStatusCode.NotFound, await run.DeleteAsync(unnamed.Session.ToString()));
            await run.SendAsync(new { messages = Conversation(("user", "unnamed"), ("assistant", unnamed.Text), ("user", "still there?")) });
        });

        Assert.Equal(2, Count(kept, "Sessions"));
        Assert.Equal(6, Count(kept, "SessionMessages"));
    }
}
