using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// A failed model call tells its caller whose fault it was and nothing of this server's insides: no address, no
/// configuration, no report the provider wrote about its own failure. The model's own words reach the caller only for
/// a request the caller can fix; the log has everything. Over real HTTP against a fake model server.
/// </summary>
public sealed class DiscreetModelErrorsTests : IAsyncDisposable
{
    private const string Secret = "sk-internal-4f1d9c2b7e";

    private readonly FakeOpenAIServer _model = new();
    private readonly LogCapture _log = new();

    private JunisApp Start(Dictionary<string, string?>? settings = null)
    {
        var all = _model.Settings(timeoutSeconds: 5);
        foreach (var (name, value) in settings ?? [])
            all[name] = value;
        var app = new JunisApp(all, services => services.AddSingleton<ILogEventSink>(_log));
        app.UseKestrel();
        app.StartServer();
        return app;
    }

    private Task<LogEvent> WarningAsync() =>
        _log.WaitForAsync(e => e.Level == LogEventLevel.Warning && e.MessageTemplate.Text.StartsWith("Model call", StringComparison.Ordinal));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARefusedConnectionNamesNoAddressToTheCallerButTheLogDoes(bool stream)
    {
        var port = ClosedPort();
        using var app = Start(new() { ["Junis:Llm:BaseUrl"] = $"http://127.0.0.1:{port}/v1" });

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream });
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("could not be reached", body);
        Assert.DoesNotContain("127.0.0.1", body);
        Assert.DoesNotContain(port.ToString(CultureInfo.InvariantCulture), body);
        Assert.Contains($"127.0.0.1:{port}", LogCapture.Render(await WarningAsync()));
    }

    [Theory]
    [InlineData(500, false)]
    [InlineData(503, false)]
    [InlineData(500, true)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    public async Task WhatTheProviderSaysOfItsOwnFailureReachesTheLogNotTheCaller(int status, bool stream)
    {
        var report = $"Upstream shard db-7.internal:5432 failed, token {Secret}";
        _model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, status, report, "server_error");
        using var app = Start();

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream });
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains($"HTTP {status}", body);
        Assert.DoesNotContain(Secret, body);
        Assert.DoesNotContain("db-7.internal", body);
        Assert.DoesNotContain("Junis:", body);
        var logged = LogCapture.Render(await WarningAsync());
        Assert.Contains(Secret, logged);
        Assert.Contains($"{status}", logged);
    }

    [Theory]
    [InlineData(400, 400)]
    [InlineData(422, 400)]
    [InlineData(404, 502)]
    public async Task TheModelsOwnWordsReachTheCallerWhenTheRequestIsTheCallersToFix(int status, int expected)
    {
        const string words = "This model's maximum context length is 8192 tokens";
        _model.Handler = (context, _) => FakeOpenAIServer.ErrorAsync(context, status, words);
        using var app = Start();

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });
        var message = (string)(await response.ReadJsonAsync())["error"]!["message"]!;

        Assert.Equal(expected, (int)response.StatusCode);
        Assert.Contains(words, message);
        Assert.DoesNotContain("fake-model", message); // the model this server is configured to ask
        Assert.Contains(words, LogCapture.Render(await WarningAsync()));
    }

    /// <summary>A port on 127.0.0.1 that nothing listens on: one that was just free.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public ValueTask DisposeAsync() => _model.DisposeAsync();
}
