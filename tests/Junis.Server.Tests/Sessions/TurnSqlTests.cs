using System.Globalization;
using Junis.Server.Sessions.Sqlite;
using Junis.Server.Sessions.Storage;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Sessions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// The turn writer binds values through SQLite's own API, not through EF Core; what it stores must be exactly what
/// EF Core would have stored for the same values, or EF Core's queries (equality on ids, order by time) would miss it.
/// </summary>
public sealed class TurnSqlTests : IDisposable
{
    private readonly JunisApp _app = new();

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData("2026-11-30T14:05:09.1234567Z", true, "conversation-7", "caller-1")]
    [InlineData("2026-11-30T14:05:09Z", false, null, null)]
    [InlineData("2026-01-02T03:04:05.5000000Z", false, "대화", null)]
    public async Task ASessionRowIsStoredAsEfCoreStoresIt(string time, bool ended, string? conversation, string? user)
    {
        var organization = await OrganizationAsync();
        var now = DateTime.Parse(time, CultureInfo.InvariantCulture).ToUniversalTime();
        var turn = new Turn
        {
            SessionId = Guid.CreateVersion7(), OrganizationId = organization, ApiKeyId = Guid.NewGuid(), Kind = TurnKind.NewSession,
            ConversationId = conversation, UserId = user, Input = [],
            StartHash = [1, 2, 3], InputHash = [4, 5], UserTurnsHash = [6],
        };
        var state = new SessionState(turn, [7, 8, 9], MessageCount: 3, TurnStart: 1, ReplySequence: 3,
            PromptTokens: 12_345_678_901, CompletionTokens: 7, EndedAt: ended ? now.AddSeconds(1) : null, now);

        var written = await RowWrittenByBothAsync("Sessions", turn.SessionId,
            connection =>
            {
                using var sql = new TurnSql(connection);
                sql.InsertSession(turn.SessionId, state);
            },
            db => db.Sessions.Add(new Session
            {
                Id = turn.SessionId, OrganizationId = organization, ApiKeyId = turn.ApiKeyId, ConversationId = conversation, UserId = user,
                TranscriptHash = [7, 8, 9], TurnStartHash = [1, 2, 3], TurnInputHash = [4, 5], UserTurnsHash = [6],
                CreatedAt = now, LastUpdateAt = now, EndedAt = state.EndedAt, MessageCount = 3, LastTurnStart = 1, LastReplySequence = 3,
                PromptTokens = 12_345_678_901, CompletionTokens = 7,
            }));

        Assert.Equal(written.ByEfCore, written.ByWriter);
    }

    [Theory]
    [InlineData("assistant", "Hello there", "stop", true)]
    [InlineData("user", null, null, false)]
    [InlineData("tool", "{\"ok\":true}", null, false)]
    public async Task AMessageRowIsStoredAsEfCoreStoresIt(string role, string? content, string? finish, bool interrupted)
    {
        var organization = await OrganizationAsync();
        var session = Guid.CreateVersion7();
        var now = new DateTime(2026, 11, 30, 14, 5, 9, 120, DateTimeKind.Utc);
        await _app.QueryAsync(async db =>
        {
            db.Sessions.Add(new Session { Id = session, OrganizationId = organization, CreatedAt = now, LastUpdateAt = now });
            return await db.SaveChangesAsync();
        });
        var calls = role == "assistant" ? new[] { new StoredToolCall("call_1", "end_call", "{\"reason\":\"bye\"}") } : null;
        var message = new StoredMessage(role, content, calls, role == "tool" ? "call_1" : null);
        var outcome = finish is null ? null : new TurnOutcome(message, finish, new TokenUsage(11, 22), Interrupted: interrupted);

        var written = await RowWrittenByBothAsync("SessionMessages", session,
            connection =>
            {
                using var sql = new TurnSql(connection);
                sql.InsertMessage(session, 4, message, outcome, now);
            },
            db => db.SessionMessages.Add(new SessionMessage
            {
                SessionId = session, Sequence = 4, Role = role, Content = content, ToolCalls = StoredToolCalls.Serialize(calls),
                ToolCallId = message.ToolCallId, FinishReason = finish, PromptTokens = outcome?.Usage?.Prompt,
                CompletionTokens = outcome?.Usage?.Completion, Interrupted = outcome?.Interrupted ?? false, CreatedAt = now,
            }),
            keyColumn: "SessionId", ignoredColumn: "Id");

        Assert.Equal(written.ByEfCore, written.ByWriter);
    }

    [Fact]
    public async Task ASessionStoredByTheWriterIsFoundByEfCoreQueriesOnItsIdsAndTimes()
    {
        var organization = await OrganizationAsync();
        var now = new DateTime(2026, 11, 30, 14, 5, 9, 1, DateTimeKind.Utc);
        var turn = new Turn
        {
            SessionId = Guid.CreateVersion7(), OrganizationId = organization, ApiKeyId = Guid.NewGuid(), Kind = TurnKind.NewSession,
            Input = [], StartHash = [1], InputHash = [2], UserTurnsHash = [3],
        };
        await WithWriterConnectionAsync(connection =>
        {
            using var sql = new TurnSql(connection);
            sql.InsertSession(turn.SessionId, new SessionState(turn, [4], 2, 1, 2, 0, 0, EndedAt: null, now));
        });

        var found = await _app.QueryAsync(db => db.Sessions.AsNoTracking()
            .Where(s => s.Id == turn.SessionId && s.OrganizationId == organization && s.ApiKeyId == turn.ApiKeyId
                && s.CreatedAt == now && s.LastUpdateAt >= now.AddTicks(-1))
            .SingleOrDefaultAsync());

        Assert.NotNull(found);
        Assert.Equal(now, found.CreatedAt);
    }

    private async Task<Guid> OrganizationAsync() => await _app.QueryAsync(db => db.Organizations.Select(o => o.Id).FirstAsync());

    /// <summary>
    /// The row <paramref name="byWriter"/> writes, then the row EF Core writes for the same values after the first is
    /// gone, each as SQLite's own literal of every column (so text, integers and blobs can't pass for one another).
    /// A message's own id is generated, so it is left out.
    /// </summary>
    private async Task<(string[] ByWriter, string[] ByEfCore)> RowWrittenByBothAsync(
        string table, Guid key, Action<SqliteConnection> byWriter, Action<JunisDb> byEfCore, string keyColumn = "Id", string ignoredColumn = "")
    {
        await WithWriterConnectionAsync(byWriter);
        var writer = await RowAsync(table, keyColumn, key, ignoredColumn);
        await WithWriterConnectionAsync(connection =>
        {
            using var delete = connection.CreateCommand();
            delete.CommandText = $"""DELETE FROM "{table}" WHERE "{keyColumn}" = @key""";
            delete.Parameters.AddWithValue("@key", key.ToString().ToUpperInvariant());
            Assert.Equal(1, delete.ExecuteNonQuery());
        });
        await _app.QueryAsync(async db =>
        {
            byEfCore(db);
            return await db.SaveChangesAsync();
        });
        return (writer, await RowAsync(table, keyColumn, key, ignoredColumn));
    }

    private async Task WithWriterConnectionAsync(Action<SqliteConnection> write) => await _app.QueryAsync(async db =>
    {
        await db.Database.OpenConnectionAsync();
        write((SqliteConnection)db.Database.GetDbConnection());
        return 0;
    });

    private Task<string[]> RowAsync(string table, string keyColumn, Guid key, string ignoredColumn) => _app.QueryAsync(async db =>
    {
        await db.Database.OpenConnectionAsync();
        var connection = db.Database.GetDbConnection();
        var columns = new List<string>();
        await using (var info = connection.CreateCommand())
        {
            info.CommandText = $"""SELECT name FROM pragma_table_info('{table}') WHERE name <> '{ignoredColumn}' ORDER BY cid""";
            await using var reader = await info.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                columns.Add(reader.GetString(0));
        }
        await using var select = connection.CreateCommand();
        select.CommandText = $"""SELECT {string.Join(", ", columns.Select(c => $"'{c}=' || quote(\"{c}\")"))} FROM "{table}" WHERE "{keyColumn}" = @key""";
        select.Parameters.Add(new SqliteParameter("@key", key.ToString().ToUpperInvariant()));
        await using var row = await select.ExecuteReaderAsync();
        Assert.True(await row.ReadAsync(), $"No row in {table} for {key}");
        return Enumerable.Range(0, columns.Count).Select(row.GetString).ToArray();
    });
}
