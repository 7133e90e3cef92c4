using System.Diagnostics;
using System.Text.Json.Nodes;
using Junis.Server.Hosting;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Junis.Server.Tests.Operations;

/// <summary>SIGTERM to the real server: open streams finish or are told to retry, and nothing answered is lost.</summary>
public sealed class GracefulShutdownTests : IDisposable
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"junis-shutdown-{Guid.NewGuid():N}.db");

    private Task<RunningServer> StartAsync(int shutdownSeconds) => RunningServer.StartAsync([], new Dictionary<string, string?>
    {
        ["ConnectionStrings__Junis"] = $"Data Source={_database}",
        ["Junis__Auth__BootstrapKey"] = JunisApp.Key,
        ["Junis__Llm__TokenDelayMs"] = "100",
        ["Junis__ShutdownSeconds"] = shutdownSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    /// <summary>
    /// Streams of <paramref name="words"/> words or more, returned once every one has begun to answer. Each says one
    /// word more than the last: the same request at once would be one turn, its retry joining it.
    /// </summary>
    private static async Task<List<Task<(HttpResponseMessage Response, List<string> Events, Exception? Broken)>>> OpenStreamsAsync(
        HttpClient client, int count, int words)
    {
        var begun = Enumerable.Range(0, count).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToList();
        var streams = begun.Select((b, i) => client.StreamAsync(
            new { stream = true, messages = new[] { Api.UserMessage(string.Join(' ', Enumerable.Repeat("word", words + i))) } },
            data => b.TrySetResult())).ToList();
        await Task.WhenAll(begun.Select(b => b.Task)).WaitAsync(TimeSpan.FromSeconds(30));
        return streams;
    }

    private List<(string Content, bool Interrupted)> StoredReplies()
    {
        using var connection = new SqliteConnection($"Data Source={_database};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT Content, Interrupted FROM SessionMessages WHERE Role = 'assistant'";
        using var reader = command.ExecuteReader();
        var replies = new List<(string, bool)>();
        while (reader.Read())
            replies.Add((reader.GetString(0), reader.GetBoolean(1)));
        return replies;
    }

    [Fact]
    public async Task StreamsThatFinishWithinTheWindowCompleteAndAreStored()
    {
        await using var server = await StartAsync(shutdownSeconds: 20);
        var streams = await OpenStreamsAsync(server.Client, count: 3, words: 15);

        server.Terminate();

        foreach (var (response, events, broken) in await Task.WhenAll(streams))
        {
            using (response)
            {
                Assert.Null(broken);
                Assert.Equal("[DONE]", events[^1]);
            }
        }
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var replies = StoredReplies();
        Assert.Equal(3, replies.Count);
        Assert.All(replies, r => Assert.False(r.Interrupted));
        Assert.All(replies, r => Assert.EndsWith("word word", r.Content, StringComparison.Ordinal));
    }

    [Fact]
    public async Task StreamsStillOpenAtTheLimitAreToldToRetryAndKeepTheirPartialReplies()
    {
        await using var server = await StartAsync(shutdownSeconds: 2);
        var streams = await OpenStreamsAsync(server.Client, count: 3, words: 300);
        var clock = Stopwatch.StartNew();

        server.Terminate();

        // Draining: the listener is closed to new connections while the open streams go on.
        await Task.Delay(500);
        using var fresh = new HttpClient { BaseAddress = server.Client.BaseAddress };
        await Assert.ThrowsAsync<HttpRequestException>(() => fresh.GetAsync("/health/live"));
        Assert.All(streams, s => Assert.False(s.IsCompleted));

        foreach (var (response, events, broken) in await Task.WhenAll(streams))
        {
            using (response)
            {
                Assert.NotNull(broken);
                var error = JsonNode.Parse(events[^1])!["error"]!;
                Assert.Equal("server_shutting_down", (string?)error["code"]);
                Assert.Contains("retry", (string?)error["message"], StringComparison.Ordinal);
                Assert.Contains(events.SkipLast(1).Chunks(), c => (string?)c["choices"]![0]!["delta"]!["content"] is { Length: > 0 });
            }
        }
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var replies = StoredReplies();
        Assert.Equal(3, replies.Count);
        Assert.All(replies, r => Assert.True(r.Interrupted));
        Assert.All(replies, r => Assert.StartsWith("Echo: word", r.Content, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadinessFailsOnceDrainingBegins()
    {
        using var app = new JunisApp();
        using (var before = await app.CreateClient().GetAsync("/health/ready"))
            Assert.Equal(200, (int)before.StatusCode);
        // /health/ready runs every registered check, the draining one among them.
        var checks = app.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations;
        var registration = Assert.Single(checks, c => c.Name == "draining");
        var lifetime = new StoppingLifetime();
        using var draining = ActivatorUtilities.CreateInstance<Draining>(app.Services, lifetime);
        await draining.StartAsync(default);
        var check = (IHealthCheck)draining;
        var healthy = await check.CheckHealthAsync(new HealthCheckContext { Registration = registration });

        await lifetime.StopAsync();
        var stopping = await check.CheckHealthAsync(new HealthCheckContext { Registration = registration });

        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Equal(HealthStatus.Unhealthy, stopping.Status);
    }

    /// <summary>A host told to stop, as far as <see cref="Draining"/> can tell.</summary>
    private sealed class StoppingLifetime : IHostApplicationLifetime
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => _stopping.Token;
        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => _stopping.Cancel();

        public Task StopAsync() => _stopping.CancelAsync();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }
}
