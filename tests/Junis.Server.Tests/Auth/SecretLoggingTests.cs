using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace Junis.Server.Tests.Auth;

public sealed class SecretLoggingTests
{
    [Theory, Engines]
    public async Task AFullRequestCycleLeavesNoTraceOfAnyKeyInAnyLogEvent(Engine engine)
    {
        await using var model = new FakeOpenAIServer();
        var capture = new LogCapture();
        var settings = LogCapture.VerboseSettings();
        foreach (var (name, value) in model.Settings())
            settings[name] = value;
        const string wrongKey = "jns_live_WrongGuess000000000000000000000";
        using var app = new JunisApp(settings, services => services.AddSingleton<ILogEventSink>(capture), engine);

        var client = app.CreateAuthorizedClient();
        (await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } })).Dispose();
        (await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true })).Dispose();
        (await client.GetAsync("/api/external/v1/models")).Dispose();
        var junisStyle = app.CreateClient();
        junisStyle.DefaultRequestHeaders.Add("X-API-Key", JunisApp.Key);
        (await junisStyle.GetAsync("/api/external/v1/models")).Dispose();
        (await app.CreateAuthorizedClient(wrongKey).GetAsync("/api/external/v1/models")).Dispose();
        model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, 500, "boom", "server_error");
        (await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } })).Dispose();

        var events = capture.Events;
        Assert.True(events.Count > 10, "verbose logging captured the cycle");
        Assert.Contains(events, e => e.Level == Serilog.Events.LogEventLevel.Verbose || e.Level == Serilog.Events.LogEventLevel.Debug);
        foreach (var e in events)
        {
            var text = LogCapture.Render(e);
            Assert.DoesNotContain(JunisApp.Key["jns_live_".Length..], text);
            Assert.DoesNotContain(wrongKey["jns_live_".Length..], text);
            Assert.DoesNotContain("sk-upstream-secret", text);
        }
    }
}
