using System.Text.Json.Nodes;
using Junis.Server.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit.Abstractions;

namespace Junis.Server.Tests.Scaling;

/// <summary>A deployment's first start: several instances at once on an empty PostgreSQL database.</summary>
[Collection(SeveralInstances.Name)]
public sealed class FirstStartTests(Figures figures, ITestOutputHelper output)
{
    [Fact]
    public async Task ThreeInstancesStartingAtOnceOnAnEmptyDatabaseMigrateItOnceAndLogNoError()
    {
        var started = DateTime.UtcNow;
        await using var fleet = await Fleet.StartAsync(3, emptyDatabase: true);
        var ready = DateTime.UtcNow - started;

        await using var connection = new NpgsqlConnection(fleet.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""SELECT array_agg("MigrationId" ORDER BY "MigrationId") FROM "__EFMigrationsHistory" """, connection);
        var applied = (string[])(await command.ExecuteScalarAsync())!;
        await using var db = new PostgresJunisDb(new DbContextOptionsBuilder<PostgresJunisDb>().UseNpgsql(fleet.ConnectionString).Options);
        var problems = fleet.Instances.SelectMany(instance => instance.Lines)
            .Where(line => (string?)TryParse(line)?["@l"] is "Error" or "Fatal" or "Warning").ToList();

        figures.Report(output, $"first start of 3 instances at once on an empty database: all ready in {ready.TotalSeconds:0.0} s, " +
            $"{applied.Length} migration(s) applied once, {problems.Count} warnings or errors logged");
        Assert.Equal(db.Database.GetMigrations(), applied);
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    private static JsonNode? TryParse(string line)
    {
        try
        {
            return JsonNode.Parse(line);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
