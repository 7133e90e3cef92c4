using Junis.Server.Sessions.Storage;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// On PostgreSQL, where the lookups are EF Core's: with 100,000 stored sessions, the lookup a retried first turn makes
/// (<see cref="ISessionLookups.UnansweredAsync"/>) is answered from an index, as SQLite's is (<see cref="LookupIndexTests"/>).
/// </summary>
public sealed class PostgresLookupIndexTests(ITestOutputHelper output) : IDisposable
{
    private readonly JunisApp _app = new(engine: Engine.PostgreSql);

    [Fact]
    public async Task TheRetriedFirstTurnLookupUsesAnIndexWithAHundredThousandSessions()
    {
        var organization = await _app.QueryAsync(db => db.Organizations.Select(o => o.Id).SingleAsync());
        await _app.QueryAsync(async db =>
        {
            // Random digests stand in for hashes; half the conversations are named by the caller, half found by their hashes.
            await db.Database.ExecuteSqlRawAsync("""
                INSERT INTO "Sessions" ("Id", "OrganizationId", "ApiKeyId", "ConversationId", "TranscriptHash", "TurnStartHash", "TurnInputHash",
                                        "CreatedAt", "LastUpdateAt", "MessageCount", "LastTurnStart", "LastReplySequence",
                                        "PromptTokens", "CompletionTokens")
                SELECT gen_random_uuid(), {0}, gen_random_uuid(), CASE WHEN i % 2 = 0 THEN 'conv-' || i END,
                       sha256(('t' || i)::bytea), sha256(('s' || i)::bytea), sha256(('i' || i)::bytea),
                       now() - i * interval '1 second', now() - i * interval '1 second', 2, 1, 2, 10, 10
                FROM generate_series(1, 100000) AS i
                """, organization);
            return await db.Database.ExecuteSqlRawAsync("""ANALYZE "Sessions" """);
        });

        var plan = await _app.QueryAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            await using var command = EfCoreSessionLookups.Unanswered(db, organization, Guid.NewGuid(), new byte[32], DateTime.UtcNow.AddMinutes(-2))
                .Take(1).CreateDbCommand();
            command.CommandText = "EXPLAIN " + command.CommandText;
            await using var reader = await command.ExecuteReaderAsync();
            var lines = new List<string>();
            while (await reader.ReadAsync())
                lines.Add(reader.GetString(0));
            return string.Join(" | ", lines);
        });
        output.WriteLine(plan);

        Assert.Contains("Index Scan", plan);
        Assert.Contains("IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt", plan);
        Assert.DoesNotContain("Seq Scan", plan);
        Assert.DoesNotContain("Sort", plan);
    }

    public void Dispose() => _app.Dispose();
}
