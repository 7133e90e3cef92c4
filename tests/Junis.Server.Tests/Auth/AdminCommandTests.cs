using System.Net;
using System.Text.RegularExpressions;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Auth;

/// <summary>The administration commands, run as an operator runs them, against a SQLite file or a PostgreSQL database.</summary>
public abstract partial class AdminCommandTests(Engine engine) : IAsyncLifetime
{
    public sealed class OnSqlite() : AdminCommandTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : AdminCommandTests(Engine.PostgreSql);

    private readonly string _file = Path.Combine(Path.GetTempPath(), $"junis-admin-{Guid.NewGuid():N}.db");
    private PostgresCluster.TestDatabase? _postgres;

    public async Task InitializeAsync()
    {
        if (engine == Engine.PostgreSql)
            _postgres = await PostgresCluster.CreateDatabaseAsync();
    }

    private string ConnectionString => _postgres?.ConnectionString ?? $"Data Source={_file}";

    /// <summary>The database, given in the environment as an operator gives it.</summary>
    private Dictionary<string, string?> DatabaseSettings => _postgres is null
        ? new() { ["ConnectionStrings__Junis"] = ConnectionString }
        : new() { ["Junis__Database__Provider"] = "PostgreSQL", ["ConnectionStrings__Junis"] = ConnectionString };

    private Task<ServerProcess.Outcome> RunAsync(params string[] arguments) =>
        ServerProcess.RunAsync(arguments, DatabaseSettings, TimeSpan.FromSeconds(60));

    private async Task<string> CreateKeyAsync(params string[] extra)
    {
        var created = await RunAsync(["keys", "create", "--org", "acme", "--name", "voice bot", .. extra]);
        Assert.Equal(0, created.ExitCode);
        return Secret().Match(created.Output).Value;
    }

    [Fact]
    public async Task OrganizationsAreCreatedAndListed()
    {
        var created = await RunAsync("orgs", "create", "acme");
        var duplicate = await RunAsync("orgs", "create", "acme");
        var list = await RunAsync("orgs", "list");

        Assert.Equal(0, created.ExitCode);
        Assert.Contains("Created organization acme", created.Output);
        Assert.NotEqual(0, duplicate.ExitCode);
        Assert.Contains("already exists", duplicate.Output);
        Assert.Matches(@"(?m)^acme\s+[0-9a-f-]{36}\s", list.Output);
    }

    [Fact]
    public async Task AKeyIsPrintedOnceAndListedWithoutItsSecret()
    {
        await RunAsync("orgs", "create", "acme");
        var secret = await CreateKeyAsync("--scopes", "orchestrator:stream,sessions:read", "--per-minute", "10", "--per-hour", "unlimited", "--expires", "2099-01-01");
        var list = await RunAsync("keys", "list", "--org", "acme");

        Assert.Matches(Secret(), secret);
        Assert.Equal(0, list.ExitCode);
        Assert.DoesNotContain(secret, list.Output);
        var row = list.Output.Split('\n').Single(l => l.StartsWith(secret[..14], StringComparison.Ordinal));
        Assert.Contains("voice bot", row);
        Assert.Contains("orchestrator:stream,sessions:read", row);
        Assert.Matches(@"\s10\s+unlimited\s+never\s+active$", row.TrimEnd());
    }

    [Fact]
    public async Task ARevokedKeyIsListedAsRevoked()
    {
        await RunAsync("orgs", "create", "acme");
        var secret = await CreateKeyAsync();
        var revoked = await RunAsync("keys", "revoke", secret[..14]);
        var again = await RunAsync("keys", "revoke", secret[..14]);
        var list = await RunAsync("keys", "list");

        Assert.Equal(0, revoked.ExitCode);
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("already revoked", again.Output);
        Assert.Matches(@"revoked\s*$", list.Output.Split('\n').Single(l => l.StartsWith(secret[..14], StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("keys", "create", "--org", "acme")] // no --name
    [InlineData("keys", "create", "--name", "x")] // no --org
    [InlineData("keys", "create", "--org", "nowhere", "--name", "x")]
    [InlineData("keys", "create", "--org", "acme", "--name", "x", "--scopes", "admin:everything")]
    [InlineData("keys", "create", "--org", "acme", "--name", "x", "--per-minute", "0")]
    [InlineData("keys", "create", "--org", "acme", "--name", "x", "--per-hour", "lots")]
    [InlineData("keys", "create", "--org", "acme", "--name", "x", "--expires", "yesterday")]
    [InlineData("keys", "create", "--org", "acme", "--name", "x", "--expires", "2001-01-01")]
    [InlineData("keys", "revoke")]
    [InlineData("keys", "revoke", "jns_live_nope")]
    [InlineData("keys", "rotate")]
    [InlineData("orgs", "create")]
    [InlineData("orgs", "delete", "acme")]
    [InlineData("keys")]
    public async Task BadArgumentsPrintAClearLineAndExitNonZero(params string[] arguments)
    {
        await RunAsync("orgs", "create", "acme");

        var outcome = await RunAsync(arguments);

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Matches("(?i)error|required|unrecognized|usage", outcome.Output);
        Assert.DoesNotMatch(Secret(), outcome.Output);
    }

    [Fact]
    public async Task ARunningServerHonoursKeysCreatedAndRevokedByTheCommandsWithinASecond()
    {
        await RunAsync("orgs", "create", "acme");
        using var app = new JunisApp(new() { ["ConnectionStrings:Junis"] = ConnectionString }, engine: engine);
        using var warm = await app.CreateClient().GetAsync("/health/ready");

        var secret = await CreateKeyAsync();
        var accepted = await PollAsync(app, secret, HttpStatusCode.OK);
        await RunAsync("keys", "revoke", secret[..14]);
        var refused = await PollAsync(app, secret, HttpStatusCode.Unauthorized);

        Assert.True(accepted < TimeSpan.FromSeconds(1), $"a new key took {accepted} to be accepted");
        Assert.True(refused < TimeSpan.FromSeconds(1), $"a revoked key took {refused} to be refused");
    }

    private static async Task<TimeSpan> PollAsync(JunisApp app, string key, HttpStatusCode wanted)
    {
        var started = DateTime.UtcNow;
        var client = app.CreateAuthorizedClient(key);
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(10))
        {
            using var response = await client.GetAsync("/api/external/v1/models");
            if (response.StatusCode == wanted)
                return DateTime.UtcNow - started;
            await Task.Delay(25);
        }
        return TimeSpan.MaxValue;
    }

    public async Task DisposeAsync()
    {
        foreach (var file in new[] { _file, _file + "-wal", _file + "-shm" })
            File.Delete(file);
        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    [GeneratedRegex("jns_live_[A-Za-z0-9]{32}")]
    private static partial Regex Secret();
}
