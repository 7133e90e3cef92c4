using System.Net;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// What every turn store keeps, with the turn writer (ITurnStore's remarks), as far as a client can see it: on each
/// store, and on PostgreSQL (where every store is EF Core).
/// </summary>
public sealed class TurnStoreGuaranteeTests
{
    /// <summary>Every session's messages run 1…MessageCount, its last reply is an assistant's, and its totals are its messages' sums.</summary>
    private static async Task AssertEverySessionConsistentAsync(JunisApp app)
    {
        var sessions = await app.SessionsAsync();
        Assert.NotEmpty(sessions);
        foreach (var session in sessions)
        {
            var messages = await app.MessagesAsync(session.Id);
            Assert.Equal(Enumerable.Range(1, session.MessageCount), messages.Select(m => m.Sequence));
            Assert.Equal(session.PromptTokens, messages.Sum(m => (long?)m.PromptTokens ?? 0));
            Assert.Equal(session.CompletionTokens, messages.Sum(m => (long?)m.CompletionTokens ?? 0));
            if (session.LastReplySequence > 0)
                Assert.Equal("assistant", messages[session.LastReplySequence - 1].Role);
        }
    }

    /// <summary>Each turn store: SQLite's fast path and the EF Core reference on SQLite; the reference and PostgreSQL's own store on PostgreSQL.</summary>
    private sealed class StoresAttribute : Xunit.Sdk.DataAttribute
    {
        public override IEnumerable<object[]> GetData(System.Reflection.MethodInfo testMethod) =>
            [["Sqlite", Engine.Sqlite], ["EfCore", Engine.Sqlite], ["EfCore", Engine.PostgreSql], ["Sqlite", Engine.PostgreSql]];
    }

    private static StoreRun Run(string store, Engine engine, StoreSetup? setup = null) => new(store, setup ?? new(), engine);

    [Theory, Stores]
    public async Task RacingFirstRequestsOfOneNameEndInOneSessionHoldingEveryTurnInOrder(string store, Engine engine)
    {
        using var run = Run(store, engine);
        for (var round = 0; round < 8; round++)
        {
            var name = $"race-{round}";
            var turns = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
                run.Client.TurnAsync(new { messages = Conversation(("user", $"hello {i}")), elevenlabs_extra_body = new { conversation_id = name } })));

            var session = Assert.Single(await run.App.SessionsAsync(), s => s.ConversationId == name);
            Assert.All(turns, turn => Assert.Equal(session.Id, turn.Session));
            var messages = await run.App.MessagesAsync(session.Id);
            Assert.Equal(12, messages.Count);
            // Each caller's words are followed at once by their reply: turns are applied whole, one after another.
            for (var i = 0; i < messages.Count; i += 2)
                Assert.Equal<string>(["user", "assistant", $"Echo: {messages[i].Content}"], [messages[i].Role, messages[i + 1].Role, messages[i + 1].Content!]);
            Assert.Equal(Enumerable.Range(0, 6).Select(i => $"hello {i}"), messages.Where(m => m.Role == "user").Select(m => m.Content!).Order());
        }
        await AssertEverySessionConsistentAsync(run.App);
    }

    [Theory, Stores]
    public async Task ManyConversationsAtOnceKeepTheirMessagesInOrderAndTheirTotalsAddingUp(string store, Engine engine)
    {
        using var run = Run(store, engine);
        object Unnamed(int conversation, int turn) => new
        {
            messages = Conversation([
                .. Enumerable.Range(0, turn).SelectMany(t => new[] { ("user", $"{conversation}: turn {t}"), ("assistant", $"Echo: {conversation}: turn {t}") }),
                ("user", $"{conversation}: turn {turn}")]),
        };
        for (var turn = 0; turn < 4; turn++)
        {
            // Named conversations sending their newest message and unnamed ones resending everything, all at once; then
            // every unnamed turn again, a replay, at once (a lone first message is no replay: it starts a conversation).
            await Task.WhenAll(Enumerable.Range(0, 6).SelectMany(c => new[]
            {
                run.Client.TurnAsync(new { messages = Conversation(("user", $"turn {turn}")), session_id = $"named-{c}" }),
                run.Client.TurnAsync(Unnamed(c, turn)),
            }));
            if (turn > 0)
                await Task.WhenAll(Enumerable.Range(0, 6).Select(c => run.Client.TurnAsync(Unnamed(c, turn))));
        }

        var sessions = await run.App.SessionsAsync();
        Assert.Equal(12, sessions.Count);
        Assert.All(sessions, s => Assert.Equal(8, s.MessageCount));
        await AssertEverySessionConsistentAsync(run.App);
    }

    [Theory, Stores]
    public async Task AReplayReplacesTheReplyAndCountsOnlyTheNewRepliesTokens(string store, Engine engine)
    {
        var calls = 0;
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, [$"Answer {++calls}"], usage: (1000 * calls, calls)),
        };
        using var run = Run(store, engine, new StoreSetup(model.Settings()));
        var first = await run.SendAsync(new { messages = Conversation(("user", "one")) });
        var history = Conversation(("user", "one"), ("assistant", first.Text), ("user", "two"));
        await run.SendAsync(new { messages = history });
        await run.SendAsync(new { messages = history });
        var last = await run.SendAsync(new { messages = history });

        var session = Assert.Single(await run.App.SessionsAsync());
        Assert.Equal(["user:one", "assistant:Answer 1", "user:two", $"assistant:{last.Text}"], (await run.App.MessagesAsync(session.Id)).Transcript());
        Assert.Equal("Answer 4", last.Text);
        Assert.Equal((1000 + 4000, 1 + 4), (session.PromptTokens, session.CompletionTokens));
        await AssertEverySessionConsistentAsync(run.App);
    }

    [Theory, Stores]
    public async Task ASessionDeletedDuringATurnStaysDeletedAndItsNameStartsAfresh(string store, Engine engine)
    {
        var release = new TaskCompletionSource();
        var hold = false;
        using var run = Run(store, engine, new StoreSetup(Model: () => new ScriptedModel((_, _, ct) =>
            hold ? HeldAsync(release.Task, ct) : ScriptedModel.Words(["ok"], TimeSpan.Zero, ct))));
        var (session, _) = await run.Client.TurnAsync(NamedTurn("conversation_id", "to-forget", "first"));
        run.Model!.Calls.Clear();
        hold = true;

        var held = run.Client.PostCompletionAsync(NamedTurn("conversation_id", "to-forget", "second"));
        while (run.Model.Calls.Count == 0)
            await Task.Delay(10);
        using var deleted = await run.Client.DeleteAsync($"/api/external/sessions/{session}");
        release.SetResult();
        using var answered = await held;
        var afterTheTurn = await run.App.SessionsAsync();
        hold = false;
        var (again, _) = await run.Client.TurnAsync(NamedTurn("conversation_id", "to-forget", "third"));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Empty(afterTheTurn);
        Assert.Equal(session, again);
        Assert.Equal(["user:third", "assistant:ok"], (await run.App.MessagesAsync(again)).Transcript());
        await AssertEverySessionConsistentAsync(run.App);
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> HeldAsync(Task release, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await release.WaitAsync(cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, "late");
    }

    [Theory, Stores]
    public async Task TwoOrganizationsNeverShareASessionThoughTheyShareNamesAndTranscripts(string store, Engine engine)
    {
        using var run = Run(store, engine);
        var other = run.App.CreateAuthorizedClient(await run.App.CreateKeyAsync("other"));
        foreach (var client in new[] { run.Client, other })
        {
            var (_, reply) = await client.TurnAsync(new { messages = Conversation(("user", "hi")) });
            await client.TurnAsync(new { messages = Conversation(("user", "hi"), ("assistant", reply), ("user", "again")) });
            await client.TurnAsync(new { messages = Conversation(("user", "hi"), ("assistant", reply), ("user", "again")) });
            await client.TurnAsync(NamedTurn("session_id", "shared-name", "hello"));
            await client.TurnAsync(NamedTurn("session_id", "shared-name", "hello again"));
        }

        var sessions = await run.App.SessionsAsync();
        Assert.Equal(4, sessions.Count);
        Assert.Equal(2, sessions.Select(s => s.OrganizationId).Distinct().Count());
        Assert.All(sessions, s => Assert.Equal(4, s.MessageCount));
        await AssertEverySessionConsistentAsync(run.App);
    }

    [Fact]
    public async Task RacingFirstRequestsOfOneNameLeaveTheSameMessagesOnEveryStore()
    {
        var reference = await RaceAsync("EfCore", Engine.Sqlite);
        var fastPath = await RaceAsync("Sqlite", Engine.Sqlite);
        var postgres = await RaceAsync("EfCore", Engine.PostgreSql);

        Assert.Equal(16, reference.Count(line => line.StartsWith("SessionMessages: ", StringComparison.Ordinal)));
        StoreComparison.AssertSameLines(reference, fastPath);
        StoreComparison.AssertSameLines(reference.ConvertAll(StoreComparison.ToTheMicrosecond), postgres.ConvertAll(StoreComparison.ToTheMicrosecond), "PostgreSQL");
    }

    /// <summary>
    /// Eight first requests of one conversation at once, without stored history (which would make a turn's prompt
    /// depend on the turns that won the race): the session and the set of its messages, without what the race decides
    /// (the order of turns, the last turn's hashes).
    /// </summary>
    private static async Task<List<string>> RaceAsync(string store, Engine engine)
    {
        using var run = Run(store, engine, new StoreSetup(new() { ["Junis:Sessions:HistoryLimit"] = "0" }));
        run.Tick();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => run.Client.TurnAsync(NamedTurn("conversation_id", "대화", $"hello {i}"))));
        await AssertEverySessionConsistentAsync(run.App);

        var labels = new StoreRun.Labels();
        var session = Assert.Single(await run.RowsAsync("Sessions", """FROM "Sessions" t"""));
        var messages = await run.RowsAsync("SessionMessages", """FROM "SessionMessages" t""", ignored: "Id");
        return
        [
            "Sessions: " + labels.Of(RaceDecided.Replace(session.Line, "")),
            .. messages.Select(m => "SessionMessages: " + labels.Of(RaceDecided.Replace(m.Line, ""))).Order(StringComparer.Ordinal),
        ];
    }

    private static readonly Regex RaceDecided = new("(TranscriptHash|TurnStartHash|TurnInputHash)=X'[0-9A-F]*' |\\b(LastTurnStart|Sequence)=[0-9]+ ");
}
