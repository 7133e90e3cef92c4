using System.Globalization;
using System.Net;
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

    private JunisApp Start(string store, int failedAuth)
    {
        _app = new JunisApp(new()
        {
            ["Junis:Data:Store"] = store,
            ["Junis:RateLimits:FailedAuthPerMinute"] = failedAuth.ToString(CultureInfo.InvariantCulture),
        }, services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock)));
        return _app;
    }

    private static Task<HttpResponseMessage> ModelsAsync(HttpClient client) => client.GetAsync("/api/external/v1/models");

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("EfCore")]
    public async Task FailuresPastTheLimitGet429UntilTheMinuteEnds(string store)
    {
        var app = Start(store, failedAuth: 3);
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
    [InlineData("Sqlite")]
    [InlineData("EfCore")]
    public async Task AValidKeyIsServedFromAnAddressOverTheFailureLimit(string store)
    {
        // Tenants behind one NAT or proxy share an address: one of them guessing must not lock the others out.
        var app = Start(store, failedAuth: 2);
        var guesser = app.CreateAuthorizedClient(WrongKey);
        for (var i = 0; i < 3; i++)
            (await ModelsAsync(guesser)).Dispose();

        using var validKey = await ModelsAsync(app.CreateAuthorizedClient());
        using var stillGuessing = await ModelsAsync(guesser);

        Assert.Equal(HttpStatusCode.OK, validKey.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, stillGuessing.StatusCode);
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
        using var firstGuess = await ModelsAsync(app.CreateAuthorizedClient(WrongKey));

        Assert.Equal(HttpStatusCode.Unauthorized, firstGuess.StatusCode);
    }
}
