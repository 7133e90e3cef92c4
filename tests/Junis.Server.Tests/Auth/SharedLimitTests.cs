using System.Globalization;
using System.Net;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Junis.Server.Tests.Auth;

/// <summary>What <c>Junis:Data:Store</c> means for the limits: with <c>EfCore</c> servers on one database count together.</summary>
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
    private JunisApp Server(string store, int perMinute = 100, int failedAuth = 60)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Junis:Data:Store"] = store,
            ["Junis:RateLimits:DefaultPerMinute"] = perMinute.ToString(CultureInfo.InvariantCulture),
            ["Junis:RateLimits:FailedAuthPerMinute"] = failedAuth.ToString(CultureInfo.InvariantCulture),
        };
        if (_apps.Count > 0)
            settings["ConnectionStrings:Junis"] = _apps[0].ConnectionString;
        var app = new JunisApp(settings, services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock)));
        _apps.Add(app);
        return app;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/external/v1/models");
        return response.StatusCode;
    }

    [Theory]
    [InlineData("EfCore", 3)] // one count between them
    [InlineData("Sqlite", 6)] // each server counts alone
    public async Task TwoServersOnOneDatabaseShareAKeysLimitWithTheEfCoreStore(string store, int admitted)
    {
        HttpClient[] servers = [Server(store, perMinute: 3).CreateAuthorizedClient(), Server(store, perMinute: 3).CreateAuthorizedClient()];

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
            statuses.Add(await StatusAsync(servers[i % 2]));

        Assert.Equal(admitted, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(8 - admitted, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Theory]
    [InlineData("EfCore", HttpStatusCode.TooManyRequests)]
    [InlineData("Sqlite", HttpStatusCode.Unauthorized)]
    public async Task FailedAuthenticationsOnOneServerBlockTheAddressOnAnotherWithTheEfCoreStore(string store, HttpStatusCode onTheOther)
    {
        var first = Server(store, failedAuth: 2).CreateAuthorizedClient(WrongKey);
        var second = Server(store, failedAuth: 2).CreateAuthorizedClient(WrongKey);

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(first));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(first));
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(first));
        Assert.Equal(onTheOther, await StatusAsync(second));
    }

    private const string WrongKey = "jns_live_GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG";
}
