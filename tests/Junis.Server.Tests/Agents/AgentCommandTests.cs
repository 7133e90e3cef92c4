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
        foreach (var file in new[] { _file, _file + "-wal", _file + "-shm" }.Concat(_files))
            System.IO.File.Delete(file);
    }

    private Dictionary<string, string?> Settings => _postgres is null
        ? new() { ["ConnectionStrings__Junis"] = $"Data Source={_file}" }
        : new() { ["Junis__Database__Provider"] = "PostgreSQL", ["ConnectionStrings__Junis"] = _postgres.ConnectionString };

    private async Task<ServerProcess.Outcome> RunAsync(params string[] arguments) =>
        await ServerProcess.RunAsync(arguments, new Dictionary<string, string?>(Settings) { ["Junis__Providers__fast__Provider"] = "Echo" },
            TimeSpan.FromSeconds(60));

    /// <summary>A command a test builds on: it must succeed, and when it does not, its output says why.</summary>
    private async Task SetUpAsync(params string[] arguments)
    {
        var outcome = await RunAsync(arguments);
        Assert.True(outcome.ExitCode == 0, $"{string.Join(' ', arguments)} exited with {outcome.ExitCode}: {outcome.Output}");
    }

    private async Task<string> ListAsync() => (await RunAsync("agents", "list", "--org", "acme")).Output;

    [Fact]
    public async Task AnAgentIsCreatedWithItsIdPrintedListedAndShown()
    {
        await SetUpAsync("orgs", "create", "acme");
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
        await SetUpAsync("orgs", "create", "acme");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "first", "--instruction", "One.", "--orchestrator");
        var second = await RunAsync("agents", "create", "--org", "acme", "--name", "second", "--instruction", "Two.", "--orchestrator");

        Assert.Equal(0, second.ExitCode);
        var list = await ListAsync();
        Assert.Matches(@"(?m)^first\s+LLM_AGENT\s+default\s+-\s+[0-9a-f-]{36}$", list);
        Assert.Matches(@"(?m)^second\s+LLM_AGENT\s+default\s+orchestrator\s+[0-9a-f-]{36}$", list);
    }

    [Fact]
    public async Task AnInvalidAgentIsRefusedWithEveryErrorNamedAndNothingChanged()
    {
        await SetUpAsync("orgs", "create", "acme");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "You are support.", "--orchestrator");
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
        await SetUpAsync("orgs", "create", "acme");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "billing", "--instruction", "Billing.");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "Support.", "--sub-agents", "billing");

        var refused = await RunAsync("agents", "delete", "--org", "acme", "billing");
        var support = await RunAsync("agents", "delete", "--org", "acme", "support");
        var billing = await RunAsync("agents", "delete", "--org", "acme", "billing");

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("billing is a sub-agent of support", refused.Output);
        Assert.Equal((0, 0), (support.ExitCode, billing.ExitCode));
        Assert.DoesNotMatch("(?m)^(billing|support) ", await ListAsync());
    }

    private string File(string name, string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"junis-agents-{Guid.NewGuid():N}-{name}");
        System.IO.File.WriteAllText(path, text);
        _files.Add(path);
        return path;
    }

    private readonly List<string> _files = [];

    private async Task<string> ExportAsync(string organization, string format = "json")
    {
        var export = await RunAsync("agents", "export", "--org", organization, "--format", format);
        Assert.Equal(0, export.ExitCode);
        return export.Output;
    }

    [Fact]
    public async Task AnExportImportedIntoAnotherOrganizationExportsTheSameInJsonAndInYaml()
    {
        foreach (var organization in new[] { "acme", "globex", "initech" })
            await SetUpAsync("orgs", "create", organization);
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "draft", "--instruction", "Write a first draft.", "--output-key", "draft",
            "--provider", "fast", "--temperature", "0.7");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "review", "--type", "LOOP_AGENT", "--sub-agents", "draft", "--max-iterations", "3");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "Help, in 한국어 too.", "--sub-agents", "review",
            "--orchestrator", "--max-llm-calls", "5");
        var json = await ExportAsync("acme");
        var yaml = await ExportAsync("acme", "yaml");

        var intoGlobex = await RunAsync("agents", "import", "--org", "globex", File("agents.json", json));
        var intoInitech = await RunAsync("agents", "import", "--org", "initech", File("agents.yaml", yaml));

        Assert.Equal((0, 0), (intoGlobex.ExitCode, intoInitech.ExitCode));
        Assert.Contains("Imported 3 agents into globex: 3 new, 0 updated, 0 deleted.", intoGlobex.Output);
        Assert.Equal(json, await ExportAsync("globex"));
        Assert.Equal(json, await ExportAsync("initech"));
        Assert.Contains("\"max_iterations\": 3", json);
        Assert.Contains("한국어", json);
    }

    [Fact]
    public async Task AnImportMakesTheOrganizationsAgentsThoseOfTheFileKeepingTheIdsOfThoseItKeeps()
    {
        await SetUpAsync("orgs", "create", "acme");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "billing", "--instruction", "Billing.");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "legacy", "--instruction", "Old.", "--orchestrator");
        var billingId = Regex.Match(await ListAsync(), @"(?m)^billing\s.*\s([0-9a-f-]{36})$").Groups[1].Value;

        var imported = await RunAsync("agents", "import", "--org", "acme", File("agents.yaml", """
            agents:
            - name: billing
              instruction: You answer billing questions.
            - name: support
              instruction: You help.
              sub_agents: [billing]
              is_orchestrator: true
            """));

        Assert.Equal(0, imported.ExitCode);
        Assert.Contains("Imported 2 agents into acme: 1 new, 1 updated, 1 deleted.", imported.Output);
        var list = await ListAsync();
        Assert.Matches(@"(?m)^billing\s+LLM_AGENT\s+default\s+-\s+" + billingId + "$", list);
        Assert.Matches(@"(?m)^support\s+LLM_AGENT\s+default\s+billing\s+orchestrator\s", list);
        Assert.DoesNotContain("legacy", list);
        Assert.Contains("instruction: You answer billing questions.", (await RunAsync("agents", "show", "--org", "acme", "billing")).Output);
    }

    [Fact]
    public async Task AnInvalidFileIsRefusedWithEveryErrorNamedAndNothingChanged()
    {
        await SetUpAsync("orgs", "create", "acme");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "Support.", "--orchestrator");
        var before = await ExportAsync("acme");

        var invalid = await RunAsync("agents", "import", "--org", "acme", File("agents.json", """
            {"agents": [
              {"name": "support", "instruction": "Support.", "sub_agents": ["triage", "ghost"], "is_orchestrator": true},
              {"name": "triage", "agent_type": "SEQUENTIAL_AGENT", "sub_agents": ["support"], "provider": "elsewhere"}
            ]}
            """));
        var unknownField = await RunAsync("agents", "import", "--org", "acme", File("agents.json", """{"agents": [{"name": "support", "instructions": "Typo."}]}"""));

        Assert.NotEqual(0, invalid.ExitCode);
        Assert.Contains("was not imported; nothing changed", invalid.Output);
        Assert.Contains("support: no agent is named ghost, which it names as a sub-agent.", invalid.Output);
        Assert.Contains("triage: no model provider is named elsewhere (configured: default, fast).", invalid.Output);
        Assert.Contains("sub-agents go round in a circle: support → triage → support.", invalid.Output);
        Assert.NotEqual(0, unknownField.ExitCode);
        Assert.Contains("instructions", unknownField.Output);
        Assert.Equal(before, await ExportAsync("acme"));
    }

    [Fact]
    public async Task AnUpdateChangesOnlyTheFieldsGivenAndIsRefusedWhereItWouldCloseACircle()
    {
        await SetUpAsync("orgs", "create", "acme");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "billing", "--instruction", "Billing.", "--temperature", "0.3");
        await SetUpAsync("agents", "create", "--org", "acme", "--name", "support", "--instruction", "Support.", "--sub-agents", "billing", "--orchestrator");

        var changed = await RunAsync("agents", "update", "--org", "acme", "billing", "--model", "small", "--orchestrator", "--active", "false");
        var circle = await RunAsync("agents", "update", "--org", "acme", "billing", "--sub-agents", "support");
        var show = (await RunAsync("agents", "show", "--org", "acme", "billing")).Output;

        Assert.Equal(0, changed.ExitCode);
        Assert.NotEqual(0, circle.ExitCode);
        Assert.Contains("sub-agents go round in a circle: support → billing → support.", circle.Output);
        Assert.Contains("model: small", show);
        Assert.Contains("temperature: 0.3", show);
        Assert.Contains("instruction: Billing.", show);
        Assert.Contains("is_active: false", show);
        Assert.Contains("is_orchestrator: true", show);
        Assert.Contains("is_orchestrator: false", (await RunAsync("agents", "show", "--org", "acme", "support")).Output);
    }
}
