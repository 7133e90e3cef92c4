using System.Net;
using Junis.Server.Auth.Storage;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Junis.Server.Tests.Operations;

/// <summary>
/// Behind a load balancer the client's address comes from <c>X-Forwarded-For</c>, and only from a configured proxy:
/// it is the address failed authentications are counted against.
/// </summary>
public sealed class ForwardedHeadersTests : IDisposable
{
    private const string WrongKey = "jns_live_GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG";
    private static readonly IPAddress Alice = IPAddress.Parse("203.0.113.1"), Bob = IPAddress.Parse("203.0.113.2");
    private static readonly IPAddress Proxy = IPAddress.Parse("10.0.0.1"), Loopback = IPAddress.Loopback;

    private JunisApp? _app;

    public void Dispose() => _app?.Dispose();

    private JunisApp Start(string? knownProxy = null, string? knownNetwork = null)
    {
        var settings = new Dictionary<string, string?> { ["Junis:RateLimits:FailedAuthPerMinute"] = "1" };
        if (knownProxy is not null)
            settings["Junis:ForwardedHeaders:KnownProxies:0"] = knownProxy;
        if (knownNetwork is not null)
            settings["Junis:ForwardedHeaders:KnownNetworks:0"] = knownNetwork;
        return _app = new(settings);
    }

    /// <summary>A wrong key sent from <paramref name="peer"/>, saying it forwards <paramref name="client"/>; the status.</summary>
    private static async Task<HttpStatusCode> GuessAsync(JunisApp app, IPAddress peer, IPAddress client)
    {
        var context = await app.Server.SendAsync(c =>
        {
            c.Connection.RemoteIpAddress = peer;
            c.Request.Method = "GET";
            c.Request.Path = "/api/external/v1/models";
            c.Request.Headers.Authorization = $"Bearer {WrongKey}";
            c.Request.Headers["X-Forwarded-For"] = client.ToString();
        });
        return (HttpStatusCode)context.Response.StatusCode;
    }

    private static ValueTask<DateTimeOffset?> BlockedUntilAsync(JunisApp app, IPAddress address) =>
        app.Services.GetRequiredService<ILimitCounters>().BlockedUntilAsync(address, 1, default);

    [Theory]
    [InlineData("10.0.0.1", null)]
    [InlineData(null, "10.0.0.0/24")]
    public async Task ClientsBehindATrustedProxyAreCountedApart(string? knownProxy, string? knownNetwork)
    {
        var app = Start(knownProxy, knownNetwork);

        HttpStatusCode[] alice = [await GuessAsync(app, Proxy, Alice), await GuessAsync(app, Proxy, Alice)];
        var bob = await GuessAsync(app, Proxy, Bob);

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], alice);
        Assert.Equal(HttpStatusCode.Unauthorized, bob);
        Assert.NotNull(await BlockedUntilAsync(app, Alice));
        Assert.Null(await BlockedUntilAsync(app, Proxy));
    }

    [Fact]
    public async Task WithNoProxyConfiguredTheHeaderIsIgnoredEvenFromLoopback()
    {
        var app = Start();

        await GuessAsync(app, Loopback, Alice);
        var bob = await GuessAsync(app, Loopback, Bob);

        Assert.Equal(HttpStatusCode.TooManyRequests, bob);
        Assert.NotNull(await BlockedUntilAsync(app, Loopback));
        Assert.Null(await BlockedUntilAsync(app, Alice));
    }

    [Fact]
    public async Task APeerThatIsNotAConfiguredProxyIsNotBelieved()
    {
        var app = Start(knownProxy: "10.0.0.1");

        await GuessAsync(app, Loopback, Alice);
        var bob = await GuessAsync(app, Loopback, Bob);

        Assert.Equal(HttpStatusCode.TooManyRequests, bob);
        Assert.Null(await BlockedUntilAsync(app, Alice));
    }
}
