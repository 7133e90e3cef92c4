using Junis.Server.Tests.Infrastructure;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// The turn store's guarantees (ITurnStore's remarks) with two servers on one PostgreSQL database, each with its own
/// turn writer: what the one writer of a single server gives for free, the database's locks give here. On PostgreSQL's
/// own turn store, the default, and on the EF Core reference.
/// </summary>
public abstract class SeveralServersTests : IDisposable
{
    public sealed class OnPostgresTurnStore() : SeveralServersTests("Sqlite");

    public sealed class OnEfCore() : SeveralServersTests("EfCore");

    private readonly JunisApp _first;
    private readonly JunisApp _second;
    private readonly HttpClient[] _clients;

    protected SeveralServersTests(string store)
    {
        _first = new JunisApp(new() { ["Junis:Data:Store"] = store }, engine: Engine.PostgreSql);
        _second = new JunisApp(new() { ["Junis:Data:Store"] = store, ["ConnectionStrings:Junis"] = _first.ConnectionString }, engine: Engine.PostgreSql);
        _clients = [_first.CreateAuthorizedClient(), _second.CreateAuthorizedClient()];
    }

    public void Dispose()
    {
        _second.Dispose();
        _first.Dispose();
    }

    private async Task AssertEverySessionConsistentAsync()
    {
        foreach (var session in await _first.SessionsAsync())
        {
            var messages = await _first.MessagesAsync(session.Id);
            Assert.Equal(Enumerable.Range(1, session.MessageCount), messages.Select(m => m.Sequence));
            Assert.Equal(session.PromptTokens, messages.Sum(m => (long?)m.PromptTokens ?? 0));
            Assert.Equal(session.CompletionTokens, messages.Sum(m => (long?)m.CompletionTokens ?? 0));
        }
    }

    [Fact]
    public async Task RacingFirstRequestsOfOneNameOnTwoServersEndInOneSessionHoldingEveryTurnInOrder()
    {
        for (var round = 0; round < 6; round++)
        {
            var name = $"race-{round}";
            var turns = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                _clients[i % 2].TurnAsync(new { messages = Conversation(("user", $"hello {i}")), elevenlabs_extra_body = new { conversation_id = name } })));

            var session = Assert.Single(await _first.SessionsAsync(), s => s.ConversationId == name);
            Assert.All(turns, turn => Assert.Equal(session.Id, turn.Session));
            var messages = await _first.MessagesAsync(session.Id);
            Assert.Equal(16, messages.Count);
            for (var i = 0; i < messages.Count; i += 2)
                Assert.Equal<string>(["user", "assistant", $"Echo: {messages[i].Content}"], [messages[i].Role, messages[i + 1].Role, messages[i + 1].Content!]);
        }
        await AssertEverySessionConsistentAsync();
    }

    [Fact]
    public async Task TurnsOfOneSessionCommittingOnTwoServersAtOnceAreAppliedWholeOneAfterAnother()
    {
        var (session, _) = await _clients[0].TurnAsync(new { messages = Conversation(("user", "start")), session_id = "busy" });
        for (var round = 0; round < 4; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
                _clients[i % 2].TurnAsync(new { messages = Conversation(("user", $"round {round} turn {i}")), session_id = "busy" })));
        }

        var messages = await _first.MessagesAsync(session);
        Assert.Equal(2 + 4 * 10 * 2, messages.Count);
        for (var i = 0; i < messages.Count; i += 2)
            Assert.Equal<string>(["user", "assistant", $"Echo: {messages[i].Content}"], [messages[i].Role, messages[i + 1].Role, messages[i + 1].Content!]);
        await AssertEverySessionConsistentAsync();
    }

    [Fact]
    public async Task AReplayArrivingAtTheOtherServerReplacesTheReplyInsteadOfAddingOne()
    {
        var (session, reply) = await _clients[0].TurnAsync(new { messages = Conversation(("user", "one")) });
        var history = new { messages = Conversation(("user", "one"), ("assistant", reply), ("user", "two")) };
        await _clients[0].TurnAsync(history);
        var replays = await Task.WhenAll(_clients[1].TurnAsync(history), _clients[0].TurnAsync(history), _clients[1].TurnAsync(history));

        Assert.All(replays, r => Assert.Equal(session, r.Session));
        Assert.Equal(["user:one", "assistant:Echo: one", "user:two", "assistant:Echo: two"], (await _first.MessagesAsync(session)).Transcript());
        await AssertEverySessionConsistentAsync();
    }
}
