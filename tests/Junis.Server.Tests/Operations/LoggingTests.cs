using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog.Core;

namespace Junis.Server.Tests.Operations;

public sealed class LoggingTests
{
    [Fact]
    public void EachCategoryGetsOneLoggerForTheLifeOfTheServer()
    {
        using var app = new JunisApp();
        var factory = app.Services.GetRequiredService<ILoggerFactory>();

        Assert.Same(factory.CreateLogger("Junis.Server.Example"), factory.CreateLogger("Junis.Server.Example"));
        Assert.NotSame(factory.CreateLogger("Junis.Server.Example"), factory.CreateLogger("Junis.Server.Other"));
    }

    [Fact]
    public async Task EventsFromTheFrameworksLoggersReachTheServersSinks()
    {
        var capture = new LogCapture();
        using var app = new JunisApp(LogCapture.VerboseSettings(), services => services.AddSingleton<ILogEventSink>(capture));

        (await app.CreateAuthorizedClient("jns_live_WrongGuess000000000000000000000").GetAsync("/api/external/v1/models")).Dispose();
        (await app.CreateAuthorizedClient().GetAsync("/api/external/v1/models")).Dispose();

        var sources = capture.Events.Select(e => e.Properties.TryGetValue("SourceContext", out var source) ? source.ToString().Trim('"') : "").ToList();
        Assert.Contains("Junis.Server.Auth.ApiKeyAuthentication", sources);
        Assert.Contains(sources, s => s.StartsWith("Microsoft.AspNetCore.Http.Result", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryAnswerNamesItsRequestAndTheLogLineCarriesTheSameId()
    {
        var capture = new LogCapture();
        using var app = new JunisApp(LogCapture.VerboseSettings(), services => services.AddSingleton<ILogEventSink>(capture));
        var client = app.CreateAuthorizedClient();

        using var completion = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });
        using var refused = await app.CreateClient().GetAsync("/api/external/v1/models");
        using var missing = await client.GetAsync("/api/external/nowhere");

        string[] ids = [.. new[] { completion, refused, missing }.Select(r => r.Headers.GetValues("x-request-id").Single())];
        Assert.All(ids, id => Assert.Matches("^req_[0-9a-f]{32}$", id));
        Assert.Equal(3, ids.Distinct().Count());
        foreach (var id in ids)
        {
            var line = await capture.WaitForAsync(e => e.Properties.TryGetValue("RequestId", out var value) && value.ToString() == $"\"{id}\"");
            Assert.Contains("responded", line.MessageTemplate.Text);
        }
    }

    [Fact]
    public async Task EachRequestIsOneLineAtInformationEvenWhereTheSettingsNameNoLevels()
    {
        var folder = Directory.CreateTempSubdirectory("junis-logging-").FullName;
        var database = Path.Combine(folder, "junis.db");
        try
        {
            var settings = ServerDeployment.ShippedSettings();
            settings.Remove("Serilog");
            ServerDeployment.WriteSettings(folder, settings);
            await using var server = await RunningServer.StartAsync(["--contentRoot", folder], new Dictionary<string, string?>
            {
                ["ConnectionStrings__Junis"] = $"Data Source={database}",
                ["Junis__Auth__BootstrapKey"] = JunisApp.Key,
                ["Serilog__MinimumLevel__Default"] = null,
            });
            using var anonymous = new HttpClient { BaseAddress = server.Client.BaseAddress };
            anonymous.DefaultRequestHeaders.Add("X-API-Key", "jns_live_WrongGuess000000000000000000000");

            (await server.Client.GetAsync("/api/external/v1/models")).Dispose();
            (await server.Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } })).Dispose();
            (await anonymous.GetAsync("/api/external/sessions")).Dispose();
            (await server.Client.GetAsync("/api/external/nowhere")).Dispose();
            // On the same connection, so every line of the requests before it has been written by the time its own is.
            (await server.Client.GetAsync("/health/live")).Dispose();
            await server.WaitForLineAsync(line => line.Contains("/health/live", StringComparison.Ordinal));

            foreach (var (path, status) in new[]
            {
                ("/api/external/v1/models", 200), (Api.Completions, 200), ("/api/external/sessions", 401), ("/api/external/nowhere", 404),
            })
            {
                var line = JsonNode.Parse(Assert.Single(server.Lines, line => line.Contains(path, StringComparison.Ordinal)))!;
                Assert.StartsWith("HTTP ", (string)line["@mt"]!);
                Assert.Equal(status, (int)line["StatusCode"]!);
                Assert.Null(line["@l"]); // Information: compact JSON names every other level
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
