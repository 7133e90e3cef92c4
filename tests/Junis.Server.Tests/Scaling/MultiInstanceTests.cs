using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Junis.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static Junis.Server.Tests.Scaling.FleetApi;

namespace Junis.Server.Tests.Scaling;

/// <summary>
/// Three instances on one PostgreSQL database, driven as a load balancer drives them: a key's limit, a conversation,
/// a key's revocation hold across all three as on one. The instances are shared; each test has an organization of its own.
/// </summary>
[Collection(SeveralInstances.Name)]
public sealed partial class MultiInstanceTests(MultiInstanceTests.ThreeInstances three, Figures figures, ITestOutputHelper output)
    : IClassFixture<MultiInstanceTests.ThreeInstances>
{
    private readonly Fleet _fleet = three.Fleet;

    public sealed class ThreeInstances : IAsyncLifetime
    {
        public Fleet Fleet { get; private set; } = null!;

        public async Task InitializeAsync() => Fleet = await Fleet.StartAsync(3);

        public async Task DisposeAsync()
        {
            if (Fleet is not null)
                await Fleet.DisposeAsync();
        }
    }

    [Fact]
    public async Task ALimitOf100AMinuteAdmitsExactly100Of200ConcurrentRequestsSpreadOverTheInstances()
    {
        var clients = _fleet.Clients(await _fleet.CreateKeyAsync("limits", perMinute: 100));
        var window = await MinuteWithTimeLeftAsync(TimeSpan.FromSeconds(20));

        var clock = Stopwatch.StartNew();
        var sent = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
            (Instance: i % 3, (await clients[i % 3].SendAsync(Turn($"request {i} against the limit", stream: false))).Status)));

        clock.Stop();
        var admitted = sent.Where(s => s.Status == HttpStatusCode.OK).ToList();
        var refused = sent.Count(s => s.Status == HttpStatusCode.TooManyRequests);
        var perInstance = string.Join('/', Enumerable.Range(0, 3).Select(i => admitted.Count(s => s.Instance == i)));
        figures.Report(output, $"limit 100/min on 3 instances: {admitted.Count} of 200 succeeded ({perInstance} per instance), " +
            $"{refused} got 429, in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(window, Minute(DateTime.UtcNow));
        Assert.Equal(100, admitted.Count);
        Assert.Equal(100, refused);
    }

    [Fact]
    public async Task ANewKeysFirstRequestsAtOnceOnEveryInstanceAreAllAdmittedBelowItsLimit()
    {
        var clients = _fleet.Clients(await _fleet.CreateKeyAsync("first-window", perMinute: 1000));

        // Its windows' first requests: each instance finds no window yet, and one of them inserts it.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var response = await clients[i % 3].GetAsync("/api/external/v1/models");
            return Status(response);
        }));

        var refused = statuses.Where(s => s != "200").ToList();
        figures.Report(output, $"a new key's first 200 requests at once, limit 1000/min: {200 - refused.Count} admitted, " +
            $"refused: {(refused.Count == 0 ? "none" : string.Join(", ", refused))}");
        Assert.Empty(refused);
    }

    [Theory]
    [InlineData("named")]
    [InlineData("unnamed")]
    public async Task AConversationContinuedOnEachInstanceInTurnIsOneSessionHoldingEveryMessageInOrder(string conversation)
    {
        var clients = _fleet.Clients(await _fleet.CreateKeyAsync($"alternating-{conversation}"));
        var transcript = new List<Message>();
        var sessions = new List<Guid?>();

        for (var i = 0; i < 9; i++)
        {
            var said = new Message("user", $"turn {i} of the {conversation} conversation", false);
            var stream = i % 2 == 1;
            var body = conversation == "named" ? Turn(said.Content!, stream, "alternating") : Transcript([.. transcript, said], stream);
            var sent = await clients[i % 3].SendAsync(body);
            Assert.True(sent.Acknowledged, $"turn {i} on instance {i % 3}: {(int)sent.Status}\n{_fleet.Errors()}");
            transcript.AddRange([said, new Message("assistant", sent.Reply, false)]);
            sessions.Add(sent.Session);
        }

        var stored = await clients[0].MessagesAsync(sessions[0].ToString()!) ?? [];
        var inOrder = stored.Zip(transcript).TakeWhile(p => p.First == p.Second).Count();
        figures.Report(output, $"{conversation} conversation, turn i on instance i % 3: {sessions.Distinct().Count()} session(s) told, " +
            $"{(await clients[1].SessionIdsAsync()).Count} stored; {stored.Count} messages stored, the first {inOrder} of {transcript.Count} in order");
        Assert.Single(sessions.Distinct());
        Assert.Equal([sessions[0]!.Value], await clients[2].SessionIdsAsync());
        Assert.Equal(transcript, stored);
    }

    [Fact]
    public async Task FirstTurnsOfANewConversationRacingOnEveryInstanceMakeOneSessionWhoseIdEveryCallerIsTold()
    {
        var clients = _fleet.Clients(await _fleet.CreateKeyAsync("racing"));
        // Connected beforehand, so the racers leave together.
        foreach (var warm in await Task.WhenAll(clients.Select(c => c.GetAsync("/api/external/v1/models"))))
            warm.Dispose();
        const int Races = 5;
        var failures = new List<string>();

        for (var race = 0; race < Races; race++)
        {
            var name = $"race-{race}";
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var racers = clients.Select(async (client, i) =>
            {
                await go.Task;
                return await client.SendAsync(Turn($"racer {i} of {name}", stream: false, name));
            }).ToList();
            go.SetResult();
            var sent = await Task.WhenAll(racers);

            var named = await clients[0].SessionIdsAsync(name);
            var stored = named.Count == 1 ? await clients[1].MessagesAsync(named[0].ToString()) ?? [] : [];
            var told = sent.Select(s => s.Session).Distinct().ToList();
            if (sent.Any(s => !s.Acknowledged))
                failures.Add($"{name}: answered {string.Join(", ", sent.Select(s => (int)s.Status))}");
            else if (named.Count != 1 || told.Count != 1 || told[0] != named[0])
                failures.Add($"{name}: {named.Count} sessions stored, callers told {string.Join(", ", told)}");
            else if (!HoldsEachTurnOnce(stored, sent.Select((s, i) => (User: $"racer {i} of {name}", s.Reply!))))
                failures.Add($"{name}: the session holds {string.Join(" | ", stored.Select(m => $"{m.Role}:{m.Content}"))}");
        }

        figures.Report(output, $"first turns of a new name racing on 3 instances: {Races - failures.Count} of {Races} races made one session " +
            "holding each turn once, every caller told its id");
        Assert.True(failures.Count == 0, $"{string.Join('\n', failures)}\n{_fleet.Errors()}");
    }

    [Theory]
    [InlineData("named")]
    [InlineData("unnamed")]
    public async Task ATurnReplayedOnAnotherInstanceIsStoredOnce(string conversation)
    {
        var clients = _fleet.Clients(await _fleet.CreateKeyAsync($"replays-{conversation}"));
        var name = conversation == "named" ? "replayed" : null;
        Message first = new("user", $"first words of the {conversation} conversation", false), second = new("user", "second words", false);

        var opening = await clients[0].SendAsync(Transcript([first], stream: false, name));
        // The whole transcript, so the same request twice is recognizably a replay, as when a client retries.
        var again = Transcript([first, new Message("assistant", opening.Reply, false), second], stream: true, name);
        var original = await clients[1].SendAsync(again);
        var replay = await clients[2].SendAsync(again);

        var stored = await clients[0].MessagesAsync(opening.Session.ToString()!);
        var sessions = await clients[1].SessionIdsAsync();
        figures.Report(output, $"{conversation} turn replayed on another instance: {stored?.Count} messages stored (of 4), in {sessions.Count} session(s)");
        Assert.All([opening, original, replay], s => Assert.True(s.Acknowledged, $"{(int)s.Status}\n{_fleet.Errors()}"));
        Assert.Single(new[] { opening.Session, original.Session, replay.Session }.Distinct());
        Assert.Equal([first, new Message("assistant", opening.Reply, false), second, new Message("assistant", replay.Reply, false)], stored);
        Assert.Single(sessions);
    }

    [Fact]
    public async Task AKeyRevokedWithTheAdminCommandIsRefusedByEveryInstanceWithinASecond()
    {
        Assert.Equal(0, (await _fleet.AdminAsync("orgs", "create", "revocation")).ExitCode);
        var created = await _fleet.AdminAsync("keys", "create", "--org", "revocation", "--name", "soon revoked");
        Assert.Equal(0, created.ExitCode);
        var secret = Secret().Match(created.Output).Value;
        var clients = _fleet.Clients(secret);
        var accepted = await Task.WhenAll(clients.Select(c => Fleet.WaitForStatusAsync(c, HttpStatusCode.OK)));

        var revoked = await _fleet.AdminAsync("keys", "revoke", secret[..14]);
        Assert.Equal(0, revoked.ExitCode);
        // Timed from the command's exit, a moment after its revocation was committed.
        var refused = await Task.WhenAll(clients.Select(c => Fleet.WaitForStatusAsync(c, HttpStatusCode.Unauthorized)));

        figures.Report(output, $"revocation: refused by all 3 instances {refused.Max().TotalSeconds:F2} s after the command returned " +
            $"(a new key was accepted by all {accepted.Max().TotalSeconds:F2} s after it was created)");
        Assert.True(refused.Max() < TimeSpan.FromSeconds(1), $"the revoked key was accepted for {refused.Max()}");
    }

    /// <summary>Whether the session holds each turn once, its user message right before its reply, in whatever order they committed.</summary>
    private static bool HoldsEachTurnOnce(List<Message> stored, IEnumerable<(string User, string Reply)> turns) =>
        stored.Chunk(2).Select(turn => string.Join(" / ", turn.Select(m => $"{m.Role}:{m.Content}"))).Order()
            .SequenceEqual(turns.Select(turn => $"user:{turn.User} / assistant:{turn.Reply}").Order());

    /// <summary>
    /// The minute now, or the next one if less than <paramref name="needed"/> of this one is left: a limit's windows are
    /// whole minutes of the clock, and a burst that crossed into the next would be counted in two.
    /// </summary>
    private static async Task<DateTime> MinuteWithTimeLeftAsync(TimeSpan needed)
    {
        var now = DateTime.UtcNow;
        var next = Minute(now).AddMinutes(1);
        if (next - now >= needed)
            return Minute(now);
        await Task.Delay(next - now + TimeSpan.FromMilliseconds(100));
        return next;
    }

    private static DateTime Minute(DateTime utc) => new(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc);

    [GeneratedRegex("jns_live_[A-Za-z0-9]{32}")]
    private static partial Regex Secret();
}
