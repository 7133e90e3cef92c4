using Junis.Server.Sessions.Sqlite;
using System.Data.Common;
using Junis.Server.Data;
using Junis.Server.Sessions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// With 100,000 stored sessions, every lookup a turn makes is answered from an index: the query plans show no
/// scan of the sessions table, so the cost of finding a conversation does not grow with the table. On SQLite only:
/// the plans, the fast path's statements and the seeding SQL are SQLite's own.
/// </summary>
public sealed class LookupIndexTests(ITestOutputHelper output) : IDisposable
{
    private readonly JunisApp _app = new();

    private async Task<Guid> SeedAsync(int sessions)
    {
        var organization = await _app.QueryAsync(db => db.Organizations.Select(o => o.Id).SingleAsync());
        await _app.QueryAsync(async db =>
        {
            // Ids in EF Core's form for SQLite (upper-case text with dashes); random blobs stand in for hashes; times
            // only need to be distinct. Half the conversations are named by the caller, half found by their hashes.
            await db.Database.ExecuteSqlRawAsync("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {1}),
                     r(i, h) AS (SELECT i, hex(randomblob(16)) FROM n)
                INSERT INTO Sessions (Id, OrganizationId, ConversationId, TranscriptHash, TurnStartHash, TurnInputHash,
                                      CreatedAt, LastUpdateAt, MessageCount, LastTurnStart, LastReplySequence, PromptTokens, CompletionTokens)
                SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12),
                       {0}, CASE WHEN i % 2 = 0 THEN 'conv-' || i END, randomblob(32), randomblob(32), randomblob(32),
                       datetime('now', '-' || i || ' seconds'), datetime('now', '-' || i || ' seconds'), 2, 1, 2, 10, 10
                FROM r
                """, organization.ToString().ToUpperInvariant(), sessions);
            return 0;
        });
        return organization;
    }

    private async Task<string> PlanAsync(string sql)
    {
        return await _app.QueryAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + sql;
            await using var reader = await command.ExecuteReaderAsync();
            var plan = new List<string>();
            while (await reader.ReadAsync())
                plan.Add(reader.GetString(3));
            return string.Join(" | ", plan);
        });
    }

    [Fact]
    public async Task EveryResolutionLookupUsesAnIndexWithAHundredThousandSessions()
    {
        await SeedAsync(100_000);
        Assert.Equal(100_000, await _app.QueryAsync(db => db.Sessions.CountAsync()));

        var plans = new Dictionary<string, string>
        {
            ["conversation"] = await PlanAsync(SqliteSessionLookups.ByConversationSql),
            ["replay"] = await PlanAsync(SqliteSessionLookups.ByTurnInputSql),
            ["transcript"] = await PlanAsync(SqliteSessionLookups.ByTranscriptSql),
            ["unanswered"] = await PlanAsync(SqliteSessionLookups.UnansweredSql),
            ["last replies"] = await PlanAsync(SqliteSessionLookups.LastRepliesSql),
            ["history"] = await PlanAsync(SqliteSessionLookups.HistorySql),
        };
        foreach (var (lookup, plan) in plans)
            output.WriteLine($"{lookup}: {plan}");

        // Each is a search on the organization and the value sought; none walks the organization's sessions.
        Assert.All(plans.Values, plan => Assert.DoesNotContain("SCAN", plan));
        Assert.Contains("USING INDEX IX_Sessions_OrganizationId_ConversationId (OrganizationId=? AND ConversationId=?)", plans["conversation"]);
        Assert.Contains("USING INDEX IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt (OrganizationId=? AND TurnInputHash=?)", plans["replay"]);
        Assert.Contains("USING INDEX IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt (OrganizationId=? AND TranscriptHash=?)", plans["transcript"]);
        // A failed turn's transcript ends with its input: only sessions that failed after the same words are searched.
        Assert.Contains("USING INDEX IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt (OrganizationId=? AND TranscriptHash=? AND LastUpdateAt>?)", plans["unanswered"]);
        Assert.Contains("USING INDEX IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt (OrganizationId=? AND TurnInputHash=?)", plans["last replies"]);
        Assert.Contains("USING INDEX IX_SessionMessages_SessionId_Sequence (SessionId=? AND Sequence=?)", plans["last replies"]);
        Assert.Contains("USING INDEX IX_SessionMessages_SessionId_Sequence (SessionId=? AND Sequence<?)", plans["history"]);
        // The newest match, or the newest messages, come straight from the index order, without sorting.
        Assert.DoesNotContain("TEMP B-TREE", plans["replay"] + plans["transcript"] + plans["unanswered"] + plans["history"]);
        // Sessions alike up to the same instant are put in the order of their ids; nothing else is sorted.
        Assert.DoesNotContain("USE TEMP B-TREE FOR ORDER BY", plans["last replies"]);
    }

    /// <summary>The SQL an EF Core query runs, without the parameter values <c>ToQueryString</c> puts before it.</summary>
    private Task<string> SqlAsync(Func<JunisDb, IQueryable<Session>> query) => _app.QueryAsync(db =>
        Task.FromResult(string.Join('\n', query(db).ToQueryString().Split('\n').Where(line => !line.StartsWith(".param", StringComparison.Ordinal)))));

    [Fact]
    public async Task TheSessionsApiFindsASessionByIdOrNameWithAnIndexSearch()
    {
        var organization = await SeedAsync(100_000);

        var byId = await PlanAsync(await SqlAsync(db => SessionsApi.WithId(db, organization, Guid.NewGuid())));
        var byName = await PlanAsync(await SqlAsync(db => SessionsApi.Named(db, organization, "conv-2")));
        output.WriteLine($"by id: {byId}");
        output.WriteLine($"by name: {byName}");

        // The id is the primary key: one entry, whose organization is then checked. The name is unique within its organization.
        Assert.DoesNotContain("SCAN", byId + byName);
        Assert.Contains("USING INDEX sqlite_autoindex_Sessions_1 (Id=?)", byId);
        Assert.Contains("USING INDEX IX_Sessions_OrganizationId_ConversationId (OrganizationId=? AND ConversationId=?)", byName);
    }

    [Fact]
    public async Task ATurnAmongAHundredThousandSessionsFindsItsOwn()
    {
        await SeedAsync(100_000);
        var client = _app.CreateAuthorizedClient();

        var (session, reply) = await client.TurnAsync(new { messages = SessionTestHelpers.Conversation(("user", "needle")) });
        var (found, _) = await client.TurnAsync(new { messages = SessionTestHelpers.Conversation(("user", "needle"), ("assistant", reply), ("user", "again")) });
        var (named, _) = await client.TurnAsync(new { messages = SessionTestHelpers.Conversation(("user", "hi")), elevenlabs_extra_body = new { conversation_id = "conv-77776" } });

        Assert.Equal(session, found);
        Assert.Equal(4, await _app.QueryAsync(db => db.Sessions.Where(s => s.Id == named).Select(s => s.MessageCount).SingleAsync()));
    }

    public void Dispose() => _app.Dispose();
}
