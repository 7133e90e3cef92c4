using System.Net;
using System.Text.RegularExpressions;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Tests.Infrastructure;
using Junis.Server.Tests.Sessions;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Junis.Server.Tests.Data;

/// <summary>
/// The checked-in migrations and the SQL the server runs for them (<see cref="MigrationScripts"/>), on a new database
/// file and on one a deployment of the previous version left behind.
/// </summary>
public sealed class MigrationTests : IDisposable
{
    private const string Initial = "20261125042107_Initial";

    /// <summary>The last migration whose sessions kept a hash of their user turns alone.</summary>
    private const string WithUserTurnsHash = "20261207123341_UsageLedger";

    private readonly string _database = Path.Combine(Path.GetTempPath(), $"junis-migration-{Guid.NewGuid():N}.db");

    private string ConnectionString => $"Data Source={_database}";

    private JunisDb Open() => new(new DbContextOptionsBuilder<JunisDb>().UseSqlite(ConnectionString).Options);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }

    private static Task<List<string>> NamesAsync(JunisDb db, string type) =>
        db.Database.SqlQuery<string>($"SELECT name AS Value FROM sqlite_master WHERE type = {type}").ToListAsync();

    /// <summary>The database as the previous version left it: the first migration only, with an organization and a key.</summary>
    private async Task<(Organization Organization, ApiKey Key, string Secret)> InitialDatabaseAsync()
    {
        await using var db = Open();
        await db.GetService<IMigrator>().MigrateAsync(Initial);
        var organization = new Organization { Name = "acme", CreatedAt = new DateTime(2026, 11, 1, 9, 30, 0, DateTimeKind.Utc) };
        var secret = ApiKeySecret.Generate();
        var key = ApiKeySecret.NewKey(organization.Id, "voice bot", secret, Scopes.All, new DateTime(2026, 11, 2, 8, 0, 0, DateTimeKind.Utc));
        key.PerMinute = 30;
        db.Organizations.Add(organization);
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync();
        return (organization, key, secret);
    }

    private static readonly Regex ProductVersion = new(@"(VALUES \('\d{14}_\w+', ')[^']*'\)");

    /// <summary>A script as compared: the EF Core version in its history row and its line endings do not matter.</summary>
    private static string Comparable(string script) => ProductVersion.Replace(script.ReplaceLineEndings("\n").Trim(), "$1…')");

    [Fact]
    public void EachMigrationHasItsScriptAndTheScriptIsTheSqlEfCoreGeneratesForIt()
    {
        using var db = Open();
        var migrator = db.GetService<IMigrator>();
        var migrations = db.Database.GetMigrations().ToList();

        Assert.Equal(migrations, MigrationScripts.All.Select(m => m.Id));
        for (var i = 0; i < migrations.Count; i++)
        {
            var from = i == 0 ? "0" : migrations[i - 1];
            var generated = migrator.GenerateScript(from, migrations[i]);
            if (Comparable(generated) != Comparable(MigrationScripts.All[i].Sql))
            {
                Assert.Fail($"""
                    Data/Migrations/{migrations[i]}.sql is not the SQL EF Core generates for its migration. Regenerate it:
                    dotnet ef migrations script {from} {migrations[i]} -p src/Junis.Server -o src/Junis.Server/Data/Migrations/{migrations[i]}.sql
                    """);
            }
        }
    }

    [Fact]
    public void TheCompiledModelIsTheModelOnModelCreatingBuilds()
    {
        using var db = Open();
        var compiled = db.Model;
        var built = db.GetService<IDesignTimeModel>().Model;

        Assert.IsType<Junis.Server.Data.CompiledModel.JunisDbModel>(compiled);
        var (expected, actual) = (Describe(built), Describe(compiled));
        Assert.True(expected == actual, $"""
            The compiled model (Data/CompiledModel) is not the model OnModelCreating builds. Regenerate it:
            dotnet ef dbcontext optimize -p src/Junis.Server -o Data/CompiledModel -n Junis.Server.Data.CompiledModel
            --- OnModelCreating builds ---
            {expected}
            --- compiled ---
            {actual}
            """);
    }

    /// <summary>Entity types, keys and relationships; tables, columns and indexes; each property's value converter.</summary>
    private static string Describe(IModel model) => string.Join("\n",
        model.ToDebugString(MetadataDebugStringOptions.ShortDefault),
        model.GetRelationalModel().ToDebugString(MetadataDebugStringOptions.ShortDefault),
        string.Join("\n", model.GetEntityTypes().SelectMany(e => e.GetProperties())
            .Select(p => $"{p.DeclaringType.Name}.{p.Name}: {p.GetValueConverter()?.GetType().Name ?? "no converter"}")));

    [Fact]
    public async Task TheScriptsBuildTheSchemaEfCoreMigrationsBuild()
    {
        var byEfCore = Path.Combine(Path.GetTempPath(), $"junis-migration-{Guid.NewGuid():N}.db");
        try
        {
            await using (var db = new JunisDb(new DbContextOptionsBuilder<JunisDb>().UseSqlite($"Data Source={byEfCore}").Options))
                await db.Database.MigrateAsync();
            await using (var db = Open())
                await MigrationScripts.ApplyAsync(db, default);

            Assert.Equal(await SchemaAsync(byEfCore), await SchemaAsync(_database));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(byEfCore);
        }
    }

    /// <summary>Every table and index with the SQL that made it, and the migrations recorded, leaving out EF Core's lock table.</summary>
    private static async Task<List<string>> SchemaAsync(string file)
    {
        await using var connection = new SqliteConnection($"Data Source={file}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master WHERE name <> '__EFMigrationsLock'
            UNION ALL SELECT 'applied ' || MigrationId FROM __EFMigrationsHistory
            ORDER BY 1
            """;
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add(reader.GetString(0));
        return rows;
    }

    [Fact]
    public async Task ServersStartingTogetherApplyEachMigrationOnceAndAgainNothing()
    {
        await using var first = Open();
        await using var second = Open();
        await Task.WhenAll(MigrationScripts.ApplyAsync(first, default), MigrationScripts.ApplyAsync(second, default));
        await MigrationScripts.ApplyAsync(first, default);

        Assert.Equal(first.Database.GetMigrations(), await first.Database.GetAppliedMigrationsAsync());
        Assert.Equal(0, await first.ApiKeys.CountAsync());
    }

    [Fact]
    public async Task AScriptThatFailsLeavesNothingOfItselfBehind()
    {
        await using var db = Open();
        // A table of the first migration's already there, made by hand: its CREATE TABLE fails midway through the script.
        await db.Database.ExecuteSqlRawAsync("""CREATE TABLE "ApiKeys" ("Id" TEXT)""");

        await Assert.ThrowsAsync<SqliteException>(() => MigrationScripts.ApplyAsync(db, default));

        var tables = await NamesAsync(db, "table");
        Assert.DoesNotContain("Organizations", tables);
        Assert.Empty(await db.Database.GetAppliedMigrationsAsync());
        await using var transactionClosed = Open();
        await transactionClosed.Database.ExecuteSqlRawAsync("""CREATE TABLE "Probe" ("Id" INTEGER)""");
    }

    [Fact]
    public async Task TheScriptsBuildTheWholeModelInAnEmptyDatabase()
    {
        await using var db = Open();
        await MigrationScripts.ApplyAsync(db, default);

        var tables = await NamesAsync(db, "table");
        var indexes = await NamesAsync(db, "index");

        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        Assert.False(db.Database.HasPendingModelChanges());
        Assert.Subset(tables.ToHashSet(), new HashSet<string> { "Organizations", "ApiKeys", "Sessions", "SessionMessages" });
        foreach (var entity in db.Model.GetEntityTypes())
        {
            var table = entity.GetTableName()!;
            Assert.Contains(table, tables);
            var columns = await db.Database.SqlQuery<string>($"SELECT name AS Value FROM pragma_table_info({table})").ToListAsync();
            foreach (var property in entity.GetProperties())
                Assert.Contains(property.GetColumnName(), columns);
            foreach (var index in entity.GetIndexes())
                Assert.Contains(index.GetDatabaseName(), indexes);
        }
    }

    [Fact]
    public async Task TheScriptsUpgradeADatabaseEfCoreMadeWithTheInitialMigrationKeepingItsRows()
    {
        var (organization, key, _) = await InitialDatabaseAsync();
        await using (var before = Open())
            Assert.DoesNotContain("Sessions", await NamesAsync(before, "table"));

        await using var db = Open();
        await MigrationScripts.ApplyAsync(db, default);

        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        var tables = await NamesAsync(db, "table");
        Assert.Contains("Sessions", tables);
        Assert.Contains("SessionMessages", tables);
        Assert.Equal(0, await db.Sessions.CountAsync());
        Assert.Equal(0, await db.SessionMessages.CountAsync());
        var storedOrganization = await db.Organizations.SingleAsync();
        Assert.Equal((organization.Id, "acme", organization.CreatedAt), (storedOrganization.Id, storedOrganization.Name, storedOrganization.CreatedAt));
        var storedKey = await db.ApiKeys.SingleAsync();
        Assert.Equal(key.Id, storedKey.Id);
        Assert.Equal(organization.Id, storedKey.OrganizationId);
        Assert.Equal("voice bot", storedKey.Name);
        Assert.Equal(key.Prefix, storedKey.Prefix);
        Assert.Equal(key.SecretHash, storedKey.SecretHash);
        Assert.Equal(key.Scopes, storedKey.Scopes);
        Assert.Equal(30, storedKey.PerMinute);
        Assert.Equal(key.CreatedAt, storedKey.CreatedAt);
    }

    [Fact]
    public async Task TheServerStartsOnADatabaseMadeByTheInitialMigrationAndServesItsKeys()
    {
        var (organization, _, secret) = await InitialDatabaseAsync();

        using (var app = new JunisApp(new() { ["ConnectionStrings:Junis"] = ConnectionString }))
        {
            var client = app.CreateAuthorizedClient(secret);
            using var response = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("still here?") } });
            var answer = await response.ReadJsonAsync();
            var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
            using var detail = await client.GetAsync($"/api/external/sessions/{session}");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Echo: still here?", (string)answer["choices"]![0]!["message"]!["content"]!);
            Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
            Assert.Equal(organization.Id, await app.QueryAsync(db => db.Sessions.Where(s => s.Id == session).Select(s => s.OrganizationId).SingleAsync()));
        }

        await using var db = Open();
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        Assert.Equal(2, await db.SessionMessages.CountAsync());
    }

    [Fact]
    public async Task DroppingTheUserTurnsHashKeepsEachSessionAndItsMessagesAndTheConversationGoesOn()
    {
        var (organization, _, secret) = await InitialDatabaseAsync();
        var session = Guid.NewGuid();
        await using (var before = Open())
        {
            await before.GetService<IMigrator>().MigrateAsync(WithUserTurnsHash);
            // As that version stored a named conversation's first turn, its ids as EF Core writes them for SQLite.
            await before.Database.ExecuteSqlRawAsync("""
                INSERT INTO "Sessions" ("Id", "OrganizationId", "ApiKeyId", "ConversationId", "UserId", "TranscriptHash", "TurnStartHash",
                    "TurnInputHash", "UserTurnsHash", "CreatedAt", "LastUpdateAt", "EndedAt", "MessageCount", "LastTurnStart",
                    "LastReplySequence", "PromptTokens", "CompletionTokens")
                VALUES ({0}, {1}, NULL, 'call-1', NULL, randomblob(32), randomblob(32), randomblob(32), randomblob(32),
                    '2026-12-01 10:00:00.0000000', '2026-12-01 10:00:00.0000000', NULL, 2, 1, 2, 12, 20);
                INSERT INTO "SessionMessages" ("SessionId", "Sequence", "Role", "Content", "FinishReason", "PromptTokens", "CompletionTokens",
                    "Interrupted", "CreatedAt")
                VALUES ({0}, 1, 'user', 'hello', NULL, NULL, NULL, 0, '2026-12-01 10:00:00.0000000'),
                       ({0}, 2, 'assistant', 'Echo: hello', 'stop', 12, 20, 0, '2026-12-01 10:00:00.0000000');
                """, session.ToString().ToUpperInvariant(), organization.Id.ToString().ToUpperInvariant());
        }

        using (var app = new JunisApp(new() { ["ConnectionStrings:Junis"] = ConnectionString }))
        {
            var (continued, reply) = await app.CreateAuthorizedClient(secret).TurnAsync(
                new { messages = new[] { Api.UserMessage("again") }, elevenlabs_extra_body = new { conversation_id = "call-1" } });

            Assert.Equal((session, "Echo: again"), (continued, reply));
            Assert.Equal(["user:hello", "assistant:Echo: hello", "user:again", "assistant:Echo: again"], (await app.MessagesAsync(session)).Transcript());
        }

        await using var db = Open();
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        Assert.DoesNotContain(await NamesAsync(db, "index"), name => name.Contains("UserTurns", StringComparison.Ordinal));
        var stored = await db.Sessions.SingleAsync();
        Assert.Equal((session, organization.Id, "call-1", 4), (stored.Id, stored.OrganizationId, stored.ConversationId, stored.MessageCount));
    }
}
