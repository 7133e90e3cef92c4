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
}
