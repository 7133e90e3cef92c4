using System.Globalization;
using System.Net;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Junis.Server.Tests.Auth;

/// <summary>Failed authentications are limited per client address, each minute, on either store and on PostgreSQL.</summary>
public sealed class FailedAuthLimitTests : IDisposable
{
    private const string WrongKey = "jns_live_GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG";

    // Thirty seconds into a minute.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 10, 0, 30, TimeSpan.Zero));
    private JunisApp? _app;

    public void Dispose() => _app?.Dispose();

    private JunisApp Start(string store, Engine engine, int failedAuth)
    {
        _app = new JunisApp(new()
        {
            ["Junis:Data:Store"] = store,
            ["Junis:RateLimits:FailedAuthPerMinute"] = failedAuth.ToString(CultureInfo.InvariantCulture),
        }, services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock)), engine);
        return _app;
    }

    private static Task<HttpResponseMessage> ModelsAsync(HttpClient client) => client.GetAsync("/api/external/v1/models");

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task FailuresPastTheLimitGet429UntilTheMinuteEnds(string store, Engine engine)
    {
        var app = Start(store, engine, failedAuth: 3);
        var guesser = app.CreateAuthorizedClient(WrongKey);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await ModelsAsync(guesser);
            statuses.Add(response.StatusCode);
        }
        using var blocked = await ModelsAsync(guesser);
        _clock.Advance(TimeSpan.FromSeconds(30));
        using var nextMinute = await ModelsAsync(guesser);

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 3), HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        var error = (await blocked.ReadJsonAsync())["error"]!;
        Assert.Equal("rate_limit_error", (string)error["type"]!);
        Assert.Equal("too_many_failed_authentications", (string)error["code"]!);
        Assert.Equal("30", blocked.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.Unauthorized, nextMinute.StatusCode);
    }

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task AValidKeyIsServedFromAnAddressOverTheFailureLimit(string store, Engine engine)
    {
        // Tenants behind one NAT or proxy share an address: one of them guessing must not lock the others out.
        var app = Start(store, engine, failedAuth: 2);
        var guesser = app.CreateAuthorizedClient(WrongKey);
        for (var i = 0; i < 3; i++)
            (await ModelsAsync(guesser)).Dispose();

        using var validKey = await ModelsAsync(app.CreateAuthorizedClient());
        using var stillGuessing = await ModelsAsync(guesser);

        Assert.Equal(HttpStatusCode.OK, validKey.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, stillGuessing.StatusCode);
    }

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task MissingKeysDoNotCountAsFailedGuesses(string store, Engine engine)
    {
        var app = Start(store, engine, failedAuth: 1);
        for (var i = 0; i < 3; i++)
        {
            using var response = await ModelsAsync(app.CreateClient());
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using var firstGuess = await ModelsAsync(app.CreateAuthorizedClient(WrongKey));

        Assert.Equal(HttpStatusCode.Unauthorized, firstGuess.StatusCode);
    }
}
