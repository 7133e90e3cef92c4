using System.Net;
using System.Text;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Junis.Server.Tests.Telemetry;

/// <summary>
/// With the standard OTLP variables set, a running server sends its spans and metrics to the collector they name, over
/// OTLP's HTTP protocol: the turn's spans and the server's metrics arrive, under the service name given, without
/// the caller's words. The collector is a stand-in that keeps what it is sent.
/// </summary>
public sealed class OtlpExportTests : IAsyncLifetime
{
    private const string Question = "Which river runs through Lyon?";
    private readonly FakeOpenAIServer _model = new();
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"junis-otlp-{Guid.NewGuid():N}.db");
    private readonly List<(string Path, string ContentType, byte[] Body)> _received = [];
    private WebApplication _collector = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _collector = builder.Build();
        _collector.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            lock (_received)
                _received.Add((context.Request.Path, context.Request.ContentType ?? "", body.ToArray()));
        });
        await _collector.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _collector.DisposeAsync();
        await _model.DisposeAsync();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }

    [Fact]
    public async Task SpansAndMetricsReachTheCollectorTheVariablesName()
    {
        await using (var server = await RunningServer.StartAsync([], new Dictionary<string, string?>
        {
            ["ConnectionStrings__Junis"] = $"Data Source={_database}",
            ["Junis__Auth__BootstrapKey"] = JunisApp.Key,
            ["Junis__Llm__Provider"] = "OpenAI",
            ["Junis__Llm__BaseUrl"] = _model.BaseUrl,
            ["Junis__Llm__Model"] = "fake-model",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _collector.Urls.First(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "junis-under-test",
            // Sent at once rather than every few seconds.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        }))
        {
            var (response, events, broken) = await server.Client.StreamAsync(new { messages = new[] { Api.UserMessage(Question) }, stream = true });
            using (response)
            {
                Assert.Null(broken);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (DateTime.UtcNow < deadline && !(Sent("/v1/traces").Contains("chat fake-model") && Sent("/v1/metrics").Contains("junis.gateway.overhead")))
                await Task.Delay(100);
        }

        var traces = Sent("/v1/traces");
        var metrics = Sent("/v1/metrics");
        // Protobuf keeps strings as they are: the spans' names and attributes, the metrics' names, the service's.
        Assert.Contains("turn", traces);
        Assert.Contains("chat fake-model", traces);
        Assert.Contains("commit", traces);
        Assert.Contains("junis-under-test", traces);
        Assert.Contains("junis.gateway.overhead", metrics);
        Assert.Contains("gen_ai.client.token.usage", metrics);
        lock (_received)
            Assert.All(_received, sent => Assert.Equal("application/x-protobuf", sent.ContentType));
        Assert.DoesNotContain("Lyon", traces + metrics);
        Assert.DoesNotContain("Hello from the model", traces + metrics);
        Assert.DoesNotContain(JunisApp.Key[..12], traces + metrics);
    }

    /// <summary>Everything the collector was sent for one signal, as text.</summary>
    private string Sent(string path)
    {
        lock (_received)
            return string.Concat(_received.Where(r => r.Path == path).Select(r => Encoding.UTF8.GetString(r.Body)));
    }
}
