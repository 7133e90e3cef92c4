using System.Net;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Telemetry;

/// <summary>Where <c>/metrics</c> is served: beside the API without a key by default, nowhere when metrics are off.</summary>
public sealed class MetricsSwitchTests
{
    [Fact]
    public async Task ByDefaultPrometheusScrapesBesideTheApiWithoutAKey()
    {
        await using var app = new JunisApp();
        using var scrape = await app.CreateClient().GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType?.ToString());
        Assert.Contains("# TYPE", await scrape.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MetricsTurnedOffAreNotServed()
    {
        await using var app = new JunisApp(new() { ["Junis:Metrics:Enabled"] = "false" });
        using var scrape = await app.CreateClient().GetAsync("/metrics");
        using var completion = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("Still answered?") } });

        Assert.Equal(HttpStatusCode.NotFound, scrape.StatusCode);
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
    }
}
