using System.Text.RegularExpressions;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Agents;

/// <summary>The <c>agents</c> administration commands, run as an operator runs them, on each engine.</summary>
public abstract partial class AgentCommandTests(Engine engine) : IAsyncLifetime
{
    public sealed class OnSqlite() : AgentCommandTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : AgentCommandTests(Engine.PostgreSql);

    private readonly string _file = Path.Combine(Path.GetTempPath(), $"junis-agents-{Guid.NewGuid():N}.db");
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
        ? new() { ["ConnectionStrings__Junis"] = $"Data Source={_file}" }
        : new() { ["Junis__Database__Provider"] = "PostgreSQL", ["ConnectionStrings__Junis"] = _postgres.ConnectionString };

    private async Task<ServerProcess.Outcome> RunAsync(params string[] arguments) =>
        await ServerProcess.RunAsync(arguments, new Dictionary<string, string?>(Settings) { ["Junis__Providers__fast__Provider"] = "Echo" },
            TimeSpan.FromSeconds(60));

    private async Task<string> ListAsync() => (await RunAsync("agents", "list", "--org", "acme")).Output;

    [Fact]
    public async Task AnAgentIsCreatedWithItsIdPrintedListedAndShown()
    {
        await RunAsync("orgs", "create", "acme");
        var billing = await RunAsync("agents", "create", "--org", "acme", "--name", "billing", "--instruction", "You answer billing questions.",
            "--provider", "fast", "--model", "small", "--temperature", "0.2", "--max-output-tokens", "300");
        var support = await RunAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "You are support.",
            "--sub-agents", "billing", "--orchestrator");
        var list = await ListAsync();
        var show = await RunAsync("agents", "show", "--org", "acme", "billing");

        Assert.Equal((0, 0), (billing.ExitCode, support.ExitCode));
        var id = Assert.Single(Regex.Matches(billing.Output, "(?m)^[0-9a-f-]{36}$")).Value;
        Assert.Matches(@"(?m)^billing\s+LLM_AGENT\s+fast/small\s+-\s+" + id + "$", list);
        Assert.Matches(@"(?m)^support\s+LLM_AGENT\s+default\s+billing\s+orchestrator\s+[0-9a-f-]{36}$", list);
        Assert.Contains($"id: {id}", show.Output);
        Assert.Contains("temperature: 0.2", show.Output);
        Assert.Contains("max_output_tokens: 300", show.Output);
        Assert.Contains("instruction: You answer billing questions.", show.Output);
    }

    [Fact]
    public async Task ANewOrchestratorTakesThePlaceOfTheOldOne()
    {
        await RunAsync("orgs", "create", "acme");
        await RunAsync("agents", "create", "--org", "acme", "--name", "first", "--instruction", "One.", "--orchestrator");
        var second = await RunAsync("agents", "create", "--org", "acme", "--name", "second", "--instruction", "Two.", "--orchestrator");

        Assert.Equal(0, second.ExitCode);
        var list = await ListAsync();
        Assert.Matches(@"(?m)^first\s+LLM_AGENT\s+default\s+-\s+[0-9a-f-]{36}$", list);
        Assert.Matches(@"(?m)^second\s+LLM_AGENT\s+default\s+orchestrator\s+[0-9a-f-]{36}$", list);
    }

    [Fact]
    public async Task AnInvalidAgentIsRefusedWithEveryErrorNamedAndNothingChanged()
    {
        await RunAsync("orgs", "create", "acme");
        await RunAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "You are support.", "--orchestrator");
        var before = await ListAsync();

        var refused = await RunAsync("agents", "create", "--org", "acme", "--name", "loop", "--type", "LOOP_AGENT", "--provider", "slow",
            "--temperature", "3", "--sub-agents", "nobody", "--orchestrator");
        var duplicate = await RunAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "Again.");

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("loop: no model provider is named slow (configured: default, fast).", refused.Output);
        Assert.Contains("loop: the temperature must be between 0 and 2.", refused.Output);
        Assert.Contains("loop: a LOOP_AGENT needs max iterations between 1 and 100.", refused.Output);
        Assert.Contains("loop: no agent is named nobody, which it names as a sub-agent.", refused.Output);
        Assert.NotEqual(0, duplicate.ExitCode);
        Assert.Contains("support: another agent has this name.", duplicate.Output);
        Assert.Equal(before, await ListAsync());
    }

    [Fact]
    public async Task AnAgentNamedAsASubAgentIsNotDeletedUntilNoneNamesIt()
    {
        await RunAsync("orgs", "create", "acme");
        await RunAsync("agents", "create", "--org", "acme", "--name", "billing", "--instruction", "Billing.");
        await RunAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "Support.", "--sub-agents", "billing");

        var refused = await RunAsync("agents", "delete", "--org", "acme", "billing");
        var support = await RunAsync("agents", "delete", "--org", "acme", "support");
        var billing = await RunAsync("agents", "delete", "--org", "acme", "billing");

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("billing is a sub-agent of support", refused.Output);
        Assert.Equal((0, 0), (support.ExitCode, billing.ExitCode));
        Assert.DoesNotMatch("(?m)^(billing|support) ", await ListAsync());
    }
}
