using System.Globalization;
using System.ClientModel;
using System.Net;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Chat;

namespace Junis.Server.Tests.Auth;

/// <summary>Each key's requests are limited per minute and per hour, on either store and on PostgreSQL.</summary>
public sealed class RateLimitTests : IDisposable
{
    // Thirty seconds into an hour, so a minute can pass without the hour ending, and vice versa.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 10, 0, 30, TimeSpan.Zero));
    private JunisApp? _app;

    private JunisApp Start(Engine engine, string store = "Sqlite", int perMinute = 100, int perHour = 1000, bool enabled = true)
    {
        _app = new JunisApp(new()
        {
            ["Junis:Data:Store"] = store,
            ["Junis:RateLimits:DefaultPerMinute"] = perMinute.ToString(CultureInfo.InvariantCulture),
            ["Junis:RateLimits:DefaultPerHour"] = perHour.ToString(CultureInfo.InvariantCulture),
            ["Junis:RateLimits:Enabled"] = enabled.ToString(),
        }, services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock)), engine);
        return _app;
    }

    private static Task<HttpResponseMessage> ModelsAsync(HttpClient client) => client.GetAsync("/api/external/v1/models");

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task EveryAuthenticatedResponseCarriesBothWindows(string store, Engine engine)
    {
        var client = Start(engine, store, perMinute: 100, perHour: 1000).CreateAuthorizedClient();
        using var first = await ModelsAsync(client);
        using var second = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal("100", first.Headers.GetValues("X-RateLimit-Limit-Minute").Single());
        Assert.Equal("99", first.Headers.GetValues("X-RateLimit-Remaining-Minute").Single());
        Assert.Equal(_clock.GetUtcNow().AddSeconds(30).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), first.Headers.GetValues("X-RateLimit-Reset-Minute").Single());
        Assert.Equal("1000", first.Headers.GetValues("X-RateLimit-Limit-Hour").Single());
        Assert.Equal("999", first.Headers.GetValues("X-RateLimit-Remaining-Hour").Single());
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 11, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), first.Headers.GetValues("X-RateLimit-Reset-Hour").Single());
        Assert.Equal("98", second.Headers.GetValues("X-RateLimit-Remaining-Minute").Single());
    }

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task OverTheLimitIsA429WithRetryAfter(string store, Engine engine)
    {
        var client = Start(engine, store, perMinute: 2).CreateAuthorizedClient();
        (await ModelsAsync(client)).Dispose();
        (await ModelsAsync(client)).Dispose();
        using var refused = await ModelsAsync(client);
        var error = (await refused.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("rate_limit_error", (string)error["type"]!);
        Assert.Equal("rate_limit_exceeded", (string)error["code"]!);
        Assert.Contains("2 requests per minute", (string)error["message"]!);
        Assert.Equal("30", refused.Headers.GetValues("Retry-After").Single());
        Assert.Equal("30000", refused.Headers.GetValues("retry-after-ms").Single());
        Assert.Equal("0", refused.Headers.GetValues("X-RateLimit-Remaining-Minute").Single());
    }

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task TheMinuteWindowOpensAgainWhenTheMinuteEnds(string store, Engine engine)
    {
        var client = Start(engine, store, perMinute: 1).CreateAuthorizedClient();
        (await ModelsAsync(client)).Dispose();
        using var refused = await ModelsAsync(client);
        _clock.Advance(TimeSpan.FromSeconds(30));
        using var admitted = await ModelsAsync(client);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
    }

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task TwoHundredSimultaneousRequestsAgainstAHundredAdmitExactlyAHundred(string store, Engine engine)
    {
        var app = Start(engine, store, perMinute: 100, perHour: 1000);
        var client = app.CreateAuthorizedClient();
        (await ModelsAsync(client)).Dispose(); // start the server before the race
        _clock.Advance(TimeSpan.FromMinutes(1)); // and give the race a fresh minute

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => ModelsAsync(client)));

        Assert.Equal(100, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(100, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        foreach (var response in responses)
            response.Dispose();
    }

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task TheHourWindowIsExactAcrossMinutes(string store, Engine engine)
    {
        var client = Start(engine, store, perMinute: 100, perHour: 5).CreateAuthorizedClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1)); // a new minute each time: only the hour can refuse
            using var response = await ModelsAsync(client);
            statuses.Add(response.StatusCode);
        }
        _clock.SetUtcNow(new DateTimeOffset(2026, 11, 25, 10, 59, 59, TimeSpan.Zero));
        using var stillRefused = await ModelsAsync(client);
        _clock.SetUtcNow(new DateTimeOffset(2026, 11, 25, 11, 0, 0, TimeSpan.Zero));
        using var nextHour = await ModelsAsync(client);

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, 5), HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(HttpStatusCode.TooManyRequests, stillRefused.StatusCode);
        Assert.Equal("1", stillRefused.Headers.GetValues("Retry-After").Single());
        Assert.Contains("5 requests per hour", (string)(await stillRefused.ReadJsonAsync())["error"]!["message"]!);
        Assert.Equal(HttpStatusCode.OK, nextHour.StatusCode);
    }

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task TwoHundredSimultaneousRequestsAgainstAnHourOfFiftyAdmitExactlyFifty(string store, Engine engine)
    {
        var client = Start(engine, store, perMinute: 1000, perHour: 50).CreateAuthorizedClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => ModelsAsync(client)));

        Assert.Equal(50, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        foreach (var response in responses)
            response.Dispose();
    }

    [Theory]
    [InlineData("Sqlite", Engine.Sqlite)]
    [InlineData("EfCore", Engine.Sqlite)]
    [InlineData("EfCore", Engine.PostgreSql)]
    public async Task AKeysOwnLimitsOverrideTheDefaultsAndUnlimitedReportsNothing(string store, Engine engine)
    {
        var app = Start(engine, store, perMinute: 1, perHour: 1);
        var secret = ApiKeySecret.Generate();
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
            var key = ApiKeySecret.NewKey((await db.Organizations.SingleAsync()).Id, "busy", secret, Scopes.All, DateTime.UtcNow);
            key.PerMinute = 3;
            key.PerHour = RateLimit.Unlimited;
            db.ApiKeys.Add(key);
            await db.SaveChangesAsync();
        }
        await app.Services.GetRequiredService<ApiKeyDirectory>().RefreshAsync(default);
        var client = app.CreateAuthorizedClient(secret);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await ModelsAsync(client);
            statuses.Add(response.StatusCode);
            Assert.False(response.Headers.Contains("X-RateLimit-Limit-Hour"));
            Assert.Equal("3", response.Headers.GetValues("X-RateLimit-Limit-Minute").Single());
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Theory, Engines]
    public async Task LimitsSwitchedOffAdmitEverythingWithoutHeaders(Engine engine)
    {
        var client = Start(engine, perMinute: 1, enabled: false).CreateAuthorizedClient();
        for (var i = 0; i < 5; i++)
        {
            using var response = await ModelsAsync(client);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("X-RateLimit-Limit-Minute"));
        }
    }

    [Theory, Engines]
    public async Task TheOfficialClientSeesItsRateLimitError(Engine engine)
    {
        var app = Start(engine, perMinute: 1);
        var chat = OfficialClient.Chat(app);
        await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        var failure = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(429, failure.Status);
        Assert.Equal("30", failure.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var after) ? after : null);
    }

    public void Dispose() => _app?.Dispose();
}
