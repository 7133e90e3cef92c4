using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>On PostgreSQL, the status endpoint of every server sharing the database sees the turns all of them run.</summary>
public sealed class SharedActivityTests : IDisposable
{
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly JunisApp _running;
    private readonly JunisApp _asked;

    public SharedActivityTests()
    {
        var model = new ScriptedModel((messages, _, cancellationToken) =>
            messages[^1].Text == "hold on" ? HeldAsync(cancellationToken) : ScriptedModel.Words(["ok"], TimeSpan.Zero, cancellationToken));
        _running = new JunisApp(services: model.Install(), engine: Engine.PostgreSql);
        _asked = new JunisApp(new() { ["ConnectionStrings:Junis"] = _running.ConnectionString }, engine: Engine.PostgreSql);
    }

    public void Dispose()
    {
        _release.TrySetResult();
        _asked.Dispose();
        _running.Dispose();
    }

    private async IAsyncEnumerable<ChatResponseUpdate> HeldAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return new ChatResponseUpdate(ChatRole.Assistant, "Let me see.");
        _holding.TrySetResult();
        await _release.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop };
    }

    /// <summary>The status the other server reports, once it is <paramref name="expected"/> (the change reaches the database a moment after the turn's own).</summary>
    private static async Task<(HttpStatusCode Status, JsonNode Body)> StatusOnceAsync(HttpClient client, string session, string expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            using var response = await client.GetAsync($"/api/external/sessions/{session}/status");
            var body = await response.ReadJsonAsync();
            if ((string?)body["status"] == expected || DateTime.UtcNow > deadline)
                return (response.StatusCode, body);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task ATurnRunningOnOneServerIsProcessingOnAnotherAndIdleThereOnceItEnds()
    {
        var client = _running.CreateAuthorizedClient();
        var (session, _) = await client.TurnAsync(new { messages = Conversation(("user", "hello")), session_id = "call" });
        var elsewhere = _asked.CreateAuthorizedClient();
        Assert.Equal("idle", (string?)(await StatusOnceAsync(elsewhere, session.ToString(), "idle")).Body["status"]);

        var turn = client.TurnAsync(new { messages = Conversation(("user", "hold on")), session_id = "call" });
        await _holding.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var during = await StatusOnceAsync(elsewhere, session.ToString(), "processing");
        _release.SetResult();
        await turn;
        var after = await StatusOnceAsync(elsewhere, session.ToString(), "idle");

        Assert.Equal((HttpStatusCode.OK, "processing"), (during.Status, (string?)during.Body["status"]));
        Assert.Equal((HttpStatusCode.OK, "idle"), (after.Status, (string?)after.Body["status"]));
    }

    [Fact]
    public async Task ANewNamedConversationIsProcessingElsewhereUnderItsNameButNotForAnotherOrganization()
    {
        var stranger = await _asked.CreateKeyAsync("another organization");
        var turn = _running.CreateAuthorizedClient().TurnAsync(new { messages = Conversation(("user", "hold on")), session_id = "first call" });
        await _holding.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var byName = await StatusOnceAsync(_asked.CreateAuthorizedClient(), "first call", "processing");
        using var probe = await _asked.CreateAuthorizedClient(stranger).GetAsync("/api/external/sessions/first%20call/status");
        _release.SetResult();
        var (session, _) = await turn;

        Assert.Equal((HttpStatusCode.OK, "processing", session.ToString()), (byName.Status, (string?)byName.Body["status"], (string?)byName.Body["session_id"]));
        Assert.Equal(HttpStatusCode.NotFound, probe.StatusCode);
    }
}
