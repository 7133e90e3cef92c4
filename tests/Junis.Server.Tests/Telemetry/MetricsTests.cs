using System.Net;
using System.Net.Http.Headers;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Telemetry;

/// <summary>
/// What Prometheus scrapes from a running server after one streamed completion, on the internal port
/// <c>Junis:Metrics:Port</c> names: the request, its tokens, its time to first token and the server's own time, the
/// turn stored, a failed authentication and a rate-limit refusal, each with the values that request gave, and nothing
/// of the caller's key, organization or words. A process of its own, so no other test's requests are counted.
/// </summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private const string Question = "Which river runs through Lyon?";
    private readonly FakeOpenAIServer _model = new();
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"junis-metrics-{Guid.NewGuid():N}.db");
    private readonly int _metricsPort = RunningServer.FreePort();
    private RunningServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await RunningServer.StartAsync([], new Dictionary<string, string?>
        {
            ["ConnectionStrings__Junis"] = $"Data Source={_database}",
            ["Junis__Auth__BootstrapKey"] = JunisApp.Key,
            ["Junis__Llm__Provider"] = "OpenAI",
            ["Junis__Llm__BaseUrl"] = _model.BaseUrl,
            ["Junis__Llm__Model"] = "fake-model",
            ["Junis__Metrics__Port"] = _metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Junis__RateLimits__DefaultPerMinute"] = "5",
        });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _model.DisposeAsync();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }

    [Fact]
    public async Task AfterOneCompletionTheScrapeShowsItsRequestTokensFirstTokenAndOverhead()
    {
        var (response, events, broken) = await _server.Client.StreamAsync(new { messages = new[] { Api.UserMessage(Question) }, stream = true });
        using (response)
        {
            Assert.Null(broken);
            Assert.Equal("[DONE]", events[^1]);
        }
        using (var refusedKey = new HttpRequestMessage(HttpMethod.Get, "/api/external/v1/models"))
        {
            refusedKey.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "jns_live_NotAKeyAnyoneWasGiven000000000000");
            using var refused = await _server.Client.SendAsync(refusedKey);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        // Past the key's limit of the minute: each request refused is counted.
        var refusals = 0;
        for (var i = 0; i < 8; i++)
        {
            using var listed = await _server.Client.GetAsync("/api/external/v1/models");
            refusals += listed.StatusCode == HttpStatusCode.TooManyRequests ? 1 : 0;
        }
        Assert.InRange(refusals, 1, 8);

        // The overhead is recorded as the response ends, a moment after the client has read it.
        var scrape = await ScrapeUntilAsync(s => s.Sum("junis_gateway_overhead_seconds_count") == 1);

        var route = ("http_route", "/api/external/v1/chat/completions");
        Assert.Equal(1, scrape.Sum("http_server_request_duration_seconds_count", route, ("http_response_status_code", "200")));
        var requestSeconds = scrape.Sum("http_server_request_duration_seconds_sum", route);

        // The model call, by the GenAI conventions: its tokens as the model reported them (9 in, 4 out).
        var model = new[] { ("gen_ai_provider_name", "openai"), ("gen_ai_request_model", "fake-model"), ("gen_ai_operation_name", "chat") };
        Assert.Equal(1, scrape.Sum("gen_ai_client_operation_duration_seconds_count", model));
        Assert.Equal(9, scrape.Sum("gen_ai_client_token_usage_sum", [.. model, ("gen_ai_token_type", "input")]));
        Assert.Equal(4, scrape.Sum("gen_ai_client_token_usage_sum", [.. model, ("gen_ai_token_type", "output")]));
        Assert.Equal(1, scrape.Sum("gen_ai_client_operation_time_to_first_chunk_seconds_count", model));

        // The turn as its caller saw it, and the server's own share of the request.
        Assert.Equal(1, scrape.Sum("gen_ai_server_time_to_first_token_seconds_count"));
        var firstToken = scrape.Sum("gen_ai_server_time_to_first_token_seconds_sum");
        Assert.InRange(firstToken, 1e-6, requestSeconds);
        Assert.Equal(1, scrape.Sum("gen_ai_server_time_per_output_token_seconds_count"));
        var overhead = scrape.Sum("junis_gateway_overhead_seconds_sum");
        Assert.InRange(overhead, 1e-6, requestSeconds);
        Assert.Equal(1, scrape.Sum("junis_turns_committed_total", ("junis_turn_outcome", "answered")));
        Assert.Equal(0, scrape.Sum("junis_streams_open"));
        Assert.Equal(1, scrape.Sum("junis_auth_failures_total", ("error_type", "invalid_api_key")));
        Assert.Equal(refusals, scrape.Sum("junis_rate_limit_refusals_total", ("junis_rate_limit", "per_minute")));

        // Nothing of who asked or what was said.
        Assert.DoesNotContain(JunisApp.Key[..12], scrape.Text);
        Assert.DoesNotContain("Lyon", scrape.Text);
        Assert.DoesNotContain("Hello from the model", scrape.Text);
        Assert.DoesNotContain(scrape.Samples.SelectMany(s => s.Labels.Values), value => value == "default");
    }

    [Fact]
    public async Task TheApiPortDoesNotServeMetricsWhenTheyHaveAPortOfTheirOwn()
    {
        using var anonymous = new HttpClient { BaseAddress = _server.Client.BaseAddress };
        using var onApiPort = await anonymous.GetAsync("/metrics");
        using var onOwnPort = await anonymous.GetAsync($"http://127.0.0.1:{_metricsPort}/metrics");

        using var apiOnMetricsPort = await anonymous.GetAsync($"http://127.0.0.1:{_metricsPort}/api/external/v1/models");
        using var health = await anonymous.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.NotFound, onApiPort.StatusCode);
        Assert.Equal(HttpStatusCode.OK, onOwnPort.StatusCode);
        Assert.StartsWith("text/plain", onOwnPort.Content.Headers.ContentType?.ToString());
        // The metrics port serves nothing else; the API is where it was.
        Assert.Equal(HttpStatusCode.NotFound, apiOnMetricsPort.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private async Task<PrometheusText> ScrapeUntilAsync(Func<PrometheusText, bool> ready)
    {
        using var scraper = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var scrape = new PrometheusText(await scraper.GetStringAsync($"http://127.0.0.1:{_metricsPort}/metrics"));
            if (ready(scrape) || DateTime.UtcNow > deadline)
                return scrape;
            await Task.Delay(50);
        }
    }
}
