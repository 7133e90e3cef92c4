using System.Net;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// The console's files are served by the server itself, from its assembly, without a key, under a policy that lets the
/// pages load nothing but this server's own files; a browser revalidates its copy; <c>Junis:Console:Enabled</c> turns it off.
/// </summary>
public sealed class ConsoleServingTests
{
    public const string Policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    [Fact]
    public async Task TheConsoleIsServedWithoutAKeyUnderAStrictPolicy()
    {
        using var app = new JunisApp();
        var client = app.CreateClient();

        using var page = await client.GetAsync("/console/");
        using var script = await client.GetAsync("/console/app.js");
        using var chart = await client.GetAsync("/console/vendor/uPlot-1.6.32.esm.js");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK), (page.StatusCode, script.StatusCode, chart.StatusCode));
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script type=\"module\" src=\"app.js\"></script>", await page.Content.ReadAsStringAsync());
        foreach (var response in new[] { page, script, chart })
        {
            Assert.Equal(Policy, response.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
            Assert.True(response.Headers.CacheControl?.NoCache);
        }
    }

    [Fact]
    public async Task TheConsolesAddressWithoutItsSlashRedirectsToIt()
    {
        using var app = new JunisApp();
        var client = app.CreateClient(new() { AllowAutoRedirect = false });

        using var response = await client.GetAsync("/console");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console/", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task ABrowsersCopyIsRevalidatedByItsTag()
    {
        using var app = new JunisApp();
        var client = app.CreateClient();
        using var first = await client.GetAsync("/console/console.css");
        var tag = first.Headers.ETag;

        using var request = new HttpRequestMessage(HttpMethod.Get, "/console/console.css");
        request.Headers.IfNoneMatch.Add(tag!);
        using var again = await client.SendAsync(request);

        Assert.NotNull(tag);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
    }

    [Fact]
    public async Task AnUnknownFileIsNotFoundInOpenAIShape()
    {
        using var app = new JunisApp();

        using var response = await app.CreateClient().GetAsync("/console/nowhere.js");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found_error", (string?)(await response.ReadJsonAsync())["error"]!["type"]);
    }

    [Fact]
    public async Task TheConsoleCanBeSwitchedOff()
    {
        using var app = new JunisApp(new() { ["Junis:Console:Enabled"] = "false" });

        using var response = await app.CreateClient().GetAsync("/console/");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task AnInvalidSettingStopsTheServerNamingTheKey()
    {
        var database = Path.Combine(Path.GetTempPath(), $"junis-console-setting-{Guid.NewGuid():N}.db");
        try
        {
            var outcome = await ServerProcess.RunAsync(["--urls", "http://127.0.0.1:0"],
                new Dictionary<string, string?> { ["ConnectionStrings__Junis"] = $"Data Source={database}", ["Junis__Console__Enabled"] = "sometimes" },
                TimeSpan.FromSeconds(30));

            Assert.NotEqual(0, outcome.ExitCode);
            Assert.Contains("Junis:Console:Enabled", outcome.Output);
        }
        finally
        {
            foreach (var file in new[] { database, database + "-wal", database + "-shm" })
                File.Delete(file);
        }
    }
}
