using System.Net;
using Junis.Server.Auth;
using Junis.Server.Auth.Memory;
using Junis.Server.Auth.PostgreSql;
using Junis.Server.Auth.Storage;
using Junis.Server.Data;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Junis.Server.Tests.Auth;

/// <summary>
/// The in-memory limit counters decide as their EF Core reference does, request by request, on either engine; and so do
/// PostgreSQL's own, which count in one round trip.
/// </summary>
public sealed class LimitCountersEquivalenceTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 58, 30, TimeSpan.Zero);
    private static readonly Guid Busy = new("00000000-0000-0000-0000-00000000000a"), NoHourLimit = new("00000000-0000-0000-0000-00000000000b"),
        Unlimited = new("00000000-0000-0000-0000-00000000000c"), NoMinuteLimit = new("00000000-0000-0000-0000-00000000000d");
    private static readonly IPAddress Guesser = IPAddress.Parse("203.0.113.7"), Neighbour = IPAddress.Parse("2001:db8::7");

    [Theory, Engines]
    public async Task BothCountersDecideAlikeAcrossMinutesHoursKeysAndAddresses(Engine engine)
    {
        using var app = new JunisApp(engine: engine);
        var clock = new FakeTimeProvider(Start);
        var fast = await RunAsync(new MemoryLimitCounters(clock), clock);
        clock = new FakeTimeProvider(Start);
        var reference = await RunAsync(new EfCoreLimitCounters(app.Services.GetRequiredService<IDbContextFactory<JunisDb>>(), clock), clock);

        Assert.Equal(reference, fast);
        // What the script is there to cross: a refusal by the hour leaves the minute's slot free, a new hour opens again.
        Assert.Contains("10:59:00 busy 3/5: refused, minute 1/3 until 11:00:00, hour 0/5 until 11:00:00", fast);
        Assert.Contains("11:00:00 busy 3/5: allowed, minute 2/3 until 11:01:00, hour 4/5 until 12:00:00", fast);
        Assert.Contains("10:59:00 no-hour-limit 2/3: allowed, minute 0/2 until 11:00:00, hour 2/3 until 11:00:00", fast);
        Assert.Contains("11:00:30 203.0.113.7 failed (limit 2): not counted, refused until 11:01:00, blocked until 11:01:00", fast);
    }

    [Fact]
    public async Task PostgreSqlsOwnCountersDecideAsTheReferenceDoes()
    {
        using var reference = new JunisApp(engine: Engine.PostgreSql);
        using var batched = new JunisApp(engine: Engine.PostgreSql);
        var clock = new FakeTimeProvider(Start);
        var expected = await RunAsync(new EfCoreLimitCounters(reference.Services.GetRequiredService<IDbContextFactory<JunisDb>>(), clock), clock);
        clock = new FakeTimeProvider(Start);
        var seen = await RunAsync(new PostgresLimitCounters(batched.Services.GetRequiredService<IConfiguration>(), clock), clock);

        Assert.Equal(expected, seen);
        var windows = (JunisApp app) => app.QueryAsync(db => db.LimitWindows.OrderBy(w => w.Counter).ThenBy(w => w.Start)
            .Select(w => $"{w.Counter} {w.Start:HH:mm} {w.Count}").ToListAsync());
        Assert.Equal(await windows(reference), await windows(batched));
    }

    /// <summary>Every decision, with the time it was asked at, as the X-RateLimit-* headers and Retry-After would tell it.</summary>
    private static async Task<List<string>> RunAsync(ILimitCounters counters, FakeTimeProvider clock)
    {
        var seen = new List<string>();
        async Task Acquire(string name, Guid key, int perMinute, int perHour, int times = 1)
        {
            for (var i = 0; i < times; i++)
            {
                var decision = await counters.AcquireAsync(key, perMinute, perHour, default);
                seen.Add($"{clock.GetUtcNow():HH:mm:ss} {name} {perMinute}/{perHour}: {(decision.Allowed ? "allowed" : "refused")}, "
                    + $"minute {Describe(decision.Minute)}, hour {Describe(decision.Hour)}");
            }
        }
        async Task Fail(IPAddress address, int perMinute, int times = 1)
        {
            for (var i = 0; i < times; i++)
            {
                var refused = await counters.RecordFailureAsync(address, perMinute, default) is { } until ? $"not counted, refused until {until:HH:mm:ss}" : "counted";
                seen.Add($"{clock.GetUtcNow():HH:mm:ss} {address} failed (limit {perMinute}): {refused}, {await Blocked(address, perMinute)}");
            }
        }
        async Task<string> Blocked(IPAddress address, int perMinute) =>
            await counters.BlockedUntilAsync(address, perMinute, default) is { } until ? $"blocked until {until:HH:mm:ss}" : "not blocked";
        void At(int hour, int minute, int second) => clock.SetUtcNow(new DateTimeOffset(2026, 11, 25, hour, minute, second, TimeSpan.Zero));

        await Acquire("busy", Busy, 3, 5, times: 4);
        await Acquire("no-hour-limit", NoHourLimit, 2, RateLimit.Unlimited, times: 3);
        await Acquire("unlimited", Unlimited, RateLimit.Unlimited, RateLimit.Unlimited, times: 2);
        await Acquire("no-minute-limit", NoMinuteLimit, RateLimit.Unlimited, 2, times: 3);
        seen.Add($"{Start:HH:mm:ss} {Guesser} before any failure: {await Blocked(Guesser, 2)}");
        await Fail(Guesser, 2, times: 3);
        await Fail(Neighbour, 2);

        At(10, 59, 0);
        await Acquire("busy", Busy, 3, 5, times: 3);
        await Acquire("busy", Busy, 10, 10); // the key's limits raised: what it used so far still counts
        await Acquire("no-hour-limit", NoHourLimit, 2, RateLimit.Unlimited);
        await Acquire("no-hour-limit", NoHourLimit, 2, 3); // an hour limit set now counts from now: unlimited, nothing was counted
        await Acquire("no-minute-limit", NoMinuteLimit, RateLimit.Unlimited, 2);
        await Fail(Guesser, 2);
        await Fail(Guesser, 3); // a higher limit makes room again

        At(10, 59, 59);
        await Acquire("busy", Busy, 10, 10, times: 5);

        At(11, 0, 0);
        await Acquire("busy", Busy, 3, 5, times: 2);
        await Acquire("no-minute-limit", NoMinuteLimit, RateLimit.Unlimited, 2);
        await Fail(Guesser, 2, times: 2);

        At(11, 0, 30);
        await Fail(Guesser, 2);
        await Acquire("busy", Busy, 3, 5, times: 2);

        At(11, 1, 0);
        seen.Add($"11:01:00 {Guesser} in a new minute: {await Blocked(Guesser, 2)}");
        await Acquire("busy", Busy, 3, 5);
        return seen;
    }

    private static string Describe(WindowState window) => $"{window.Remaining}/{window.Limit} until {window.ResetsAt:HH:mm:ss}";
}
