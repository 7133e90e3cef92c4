using System.Globalization;
using System.Net;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Junis.Server.Tests.Auth;

/// <summary>
/// What <c>Junis:Data:Store</c> means for the limits: with <c>EfCore</c> servers on one database count together. On
/// PostgreSQL, for several servers, they always do: every store there is EF Core's.
/// </summary>
public sealed class SharedLimitTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 10, 0, 30, TimeSpan.Zero));
    private readonly List<JunisApp> _apps = [];

    public void Dispose()
    {
        // The first server holds the database open: it goes last.
        foreach (var app in Enumerable.Reverse(_apps))
            app.Dispose();
    }

    /// <summary>A server; every one after the first on the first one's database.</summary>
    private JunisApp Server(string store, Engine engine, int perMinute = 100, int failedAuth = 60)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Junis:Data:Store"] = store,
            ["Junis:RateLimits:DefaultPerMinute"] = perMinute.ToString(CultureInfo.InvariantCulture),
            ["Junis:RateLimits:FailedAuthPerMinute"] = failedAuth.ToString(CultureInfo.InvariantCulture),
        };
        if (_apps.Count > 0)
            settings["ConnectionStrings:Junis"] = _apps[0].ConnectionString;
        var app = new JunisApp(settings, services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock)), engine);
        _apps.Add(app);
        return app;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/external/v1/models");
        return response.StatusCode;
    }

    [Theory]
    [InlineData("EfCore", Engine.Sqlite, 3)] // one count between them
    [InlineData("Sqlite", Engine.Sqlite, 6)] // each server counts alone
    [InlineData("EfCore", Engine.PostgreSql, 3)]
    [InlineData("Sqlite", Engine.PostgreSql, 3)] // the setting is SQLite's alone
    public async Task TwoServersOnOneDatabaseShareAKeysLimitWithTheEfCoreStore(string store, Engine engine, int admitted)
    {
        HttpClient[] servers = [Server(store, engine, perMinute: 3).CreateAuthorizedClient(), Server(store, engine, perMinute: 3).CreateAuthorizedClient()];

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
            statuses.Add(await StatusAsync(servers[i % 2]));

        Assert.Equal(admitted, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(8 - admitted, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Theory]
    [InlineData("EfCore", Engine.Sqlite, HttpStatusCode.TooManyRequests)]
    [InlineData("Sqlite", Engine.Sqlite, HttpStatusCode.Unauthorized)]
    [InlineData("EfCore", Engine.PostgreSql, HttpStatusCode.TooManyRequests)]
    [InlineData("Sqlite", Engine.PostgreSql, HttpStatusCode.TooManyRequests)] // the setting is SQLite's alone
    public async Task FailedAuthenticationsOnOneServerBlockTheAddressOnAnotherWithTheEfCoreStore(string store, Engine engine, HttpStatusCode onTheOther)
    {
        var first = Server(store, engine, failedAuth: 2).CreateAuthorizedClient(WrongKey);
        var second = Server(store, engine, failedAuth: 2).CreateAuthorizedClient(WrongKey);

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(first));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(first));
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(first));
        Assert.Equal(onTheOther, await StatusAsync(second));
    }

    private const string WrongKey = "jns_live_GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG";
}
