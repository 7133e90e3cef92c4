using System.Globalization;
using System.Net;
using Junis.Server.Auth;
using Junis.Server.Auth.Memory;
using Junis.Server.Auth.Storage;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Junis.Server.Tests.Auth;

/// <summary>Failed authentications are limited per client address, each minute, on either store.</summary>
public sealed class FailedAuthLimitTests : IDisposable
{
    private const string WrongKey = "jns_live_GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG";

    // Thirty seconds into a minute.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 10, 0, 30, TimeSpan.Zero));
    private JunisApp? _app;

    public void Dispose() => _app?.Dispose();

    private JunisApp Start(string store, int failedAuth, bool racedPastTheCheck = false)
    {
        _app = new JunisApp(new()
        {
            ["Junis:Data:Store"] = store,
            ["Junis:RateLimits:FailedAuthPerMinute"] = failedAuth.ToString(CultureInfo.InvariantCulture),
        }, services =>
        {
            services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock));
            if (racedPastTheCheck)
                services.Replace(ServiceDescriptor.Singleton<ILimitCounters>(sp => new RacedPastTheCheck(store == "EfCore"
                    ? ActivatorUtilities.CreateInstance<EfCoreLimitCounters>(sp)
                    : ActivatorUtilities.CreateInstance<MemoryLimitCounters>(sp))));
        });
        return _app;
    }

    private static Task<HttpResponseMessage> ModelsAsync(HttpClient client) => client.GetAsync("/api/external/v1/models");

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("EfCore")]
    public async Task FailedAuthenticationsAreLimitedPerAddress(string store)
    {
        var app = Start(store, failedAuth: 3);
        var guesser = app.CreateAuthorizedClient(WrongKey);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await ModelsAsync(guesser);
            statuses.Add(response.StatusCode);
        }
        using var blocked = await ModelsAsync(guesser);
        using var evenTheRightKey = await ModelsAsync(app.CreateAuthorizedClient());
        _clock.Advance(TimeSpan.FromSeconds(30));
        using var nextMinute = await ModelsAsync(app.CreateAuthorizedClient());

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], statuses);
        var error = (await blocked.ReadJsonAsync())["error"]!;
        Assert.Equal("rate_limit_error", (string)error["type"]!);
        Assert.Equal("30", blocked.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, evenTheRightKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, nextMinute.StatusCode);
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("EfCore")]
    public async Task MissingKeysDoNotCountAsFailedGuesses(string store)
    {
        var app = Start(store, failedAuth: 1);
        for (var i = 0; i < 3; i++)
        {
            using var response = await ModelsAsync(app.CreateClient());
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using var withKey = await ModelsAsync(app.CreateAuthorizedClient());

        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("EfCore")]
    public async Task GuessesThatRacedPastTheCheckAreRefusedOnceTheMinuteIsFull(string store)
    {
        var guesser = Start(store, failedAuth: 3, racedPastTheCheck: true).CreateAuthorizedClient(WrongKey);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await ModelsAsync(guesser);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                Assert.Equal("30", response.Headers.GetValues("Retry-After").Single());
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 3), HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    /// <summary>Counters whose check never finds the minute full, as if every guess had passed it before any was counted.</summary>
    private sealed class RacedPastTheCheck(ILimitCounters counters) : ILimitCounters
    {
        public ValueTask<RateLimitDecision> AcquireAsync(Guid key, int perMinute, int perHour, CancellationToken cancellationToken) =>
            counters.AcquireAsync(key, perMinute, perHour, cancellationToken);

        public ValueTask<DateTimeOffset?> BlockedUntilAsync(IPAddress address, int perMinute, CancellationToken cancellationToken) => default;

        public ValueTask<DateTimeOffset?> RecordFailureAsync(IPAddress address, int perMinute, CancellationToken cancellationToken) =>
            counters.RecordFailureAsync(address, perMinute, cancellationToken);
    }
}
