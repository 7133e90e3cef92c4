using System.Net;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Usage;

/// <summary>
/// The <c>usage</c> command, run as an operator runs it, after a server process has answered turns and been stopped as
/// an orchestrator stops it: what the server had queued for the ledger is written before it exits. On each engine.
/// </summary>
public abstract class UsageCommandTests(Engine engine) : IAsyncLifetime
{
    public sealed class OnSqlite() : UsageCommandTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : UsageCommandTests(Engine.PostgreSql);

    private readonly string _file = Path.Combine(Path.GetTempPath(), $"junis-usage-{Guid.NewGuid():N}.db");
    private PostgresCluster.TestDatabase? _postgres;

    public async Task InitializeAsync()
    {
        if (engine == Engine.PostgreSql)
            _postgres = await PostgresCluster.CreateDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
        foreach (var file in new[] { _file, _file + "-wal", _file + "-shm" })
            File.Delete(file);
    }

    private Dictionary<string, string?> Settings => _postgres is null
        ? new() { ["ConnectionStrings__Junis"] = $"Data Source={_file}", ["Junis__Auth__BootstrapKey"] = JunisApp.Key }
        : new() { ["Junis__Database__Provider"] = "PostgreSQL", ["ConnectionStrings__Junis"] = _postgres.ConnectionString, ["Junis__Auth__BootstrapKey"] = JunisApp.Key };

    [Fact]
    public async Task TheCommandReportsTheTurnsAStoppedServerAnswered()
    {
        await using (var server = await RunningServer.StartAsync([], Settings))
        {
            for (var i = 0; i < 3; i++)
            {
                using var response = await server.Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage($"Hello {i}") } });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            // At once: the ledger's batch has not been written yet, and must be before the process ends.
            server.Terminate();
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var outcome = await ServerProcess.RunAsync(["usage", "--org", "default", "--group-by", "key"], Settings, TimeSpan.FromSeconds(60));

        Assert.True(outcome.ExitCode == 0, outcome.Output);
        var total = outcome.Output.Split('\n').Single(line => line.StartsWith("TOTAL", StringComparison.Ordinal));
        Assert.Equal("3", total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        Assert.Contains(JunisApp.Key[..12], outcome.Output);
    }

    [Fact]
    public async Task AnUnknownOrganizationOrABadDayIsRefused()
    {
        var created = await ServerProcess.RunAsync(["orgs", "create", "acme"], Settings, TimeSpan.FromSeconds(60));
        Assert.True(created.ExitCode == 0, created.Output);
        var unknown = await ServerProcess.RunAsync(["usage", "--org", "nobody"], Settings, TimeSpan.FromSeconds(60));
        var badDay = await ServerProcess.RunAsync(["usage", "--org", "acme", "--from", "yesterday"], Settings, TimeSpan.FromSeconds(60));
        var empty = await ServerProcess.RunAsync(["usage", "--org", "acme"], Settings, TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("No organization is named 'nobody'", unknown.Output);
        Assert.NotEqual(0, badDay.ExitCode);
        Assert.Contains("--from must be a day", badDay.Output);
        Assert.True(empty.ExitCode == 0, empty.Output);
        Assert.Equal("0", empty.Output.Split('\n').Single(line => line.StartsWith("TOTAL", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }
}
