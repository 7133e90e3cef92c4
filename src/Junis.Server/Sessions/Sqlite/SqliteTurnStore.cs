using Junis.Server.Data;
using Junis.Server.Data.Sqlite;
using Junis.Server.Sessions.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Sessions.Sqlite;

/// <summary>
/// The turn store on SQLite: one connection kept open for the writer, its statements prepared once and bound
/// through SQLite's own API, in EF Core's transaction (BEGIN IMMEDIATE) so its interceptors see the commit.
/// Change tracking and command building were most of a turn's CPU (bench/ANALYSIS.md, "Figures behind the code").
/// </summary>
internal sealed class SqliteTurnStore(IDbContextFactory<JunisDb> databases) : ITurnStore
{
    private JunisDb? _db;
    private TurnSql? _sql;

    public async Task<ITurnTransaction> BeginAsync()
    {
        if (_db is null)
        {
            _db = await databases.CreateDbContextAsync();
            await _db.Database.OpenConnectionAsync();
        }
        _sql ??= new TurnSql((SqliteConnection)_db.Database.GetDbConnection());
        return new Transaction(_sql, await _db.Database.BeginTransactionAsync());
    }

    public async ValueTask ResetAsync()
    {
        _sql?.Dispose();
        _sql = null;
        if (_db is not null)
            await _db.DisposeAsync();
        _db = null;
    }

    // The statements run synchronously, which is how SQLite runs them whatever the API says.
    private sealed class Transaction(TurnSql sql, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction) : ITurnTransaction
    {
        // BEGIN IMMEDIATE took the database's one write lock: no other writer, in this process or another, can run.
        public ValueTask LockAsync(IReadOnlyList<Guid> sessions) => default;

        public ValueTask<StoredSession?> FindAsync(Guid id, Guid organization) => new(sql.Find(id, organization));

        public ValueTask<StoredSession?> FindAsync(Guid organization, string conversation) => new(sql.Find(organization, conversation));

        public ValueTask<(long Prompt, long Completion)> DeleteFromAsync(Guid session, int sequence) => new(sql.DeleteFrom(session, sequence));

        public ValueTask InsertSessionAsync(Guid id, SessionState state)
        {
            sql.InsertSession(id, state);
            return default;
        }

        public ValueTask UpdateSessionAsync(Guid id, SessionState state)
        {
            sql.UpdateSession(id, state);
            return default;
        }

        public ValueTask InsertMessageAsync(Guid session, int sequence, StoredMessage message, TurnOutcome? outcome, DateTime now)
        {
            sql.InsertMessage(session, sequence, message, outcome, now);
            return default;
        }

        public ValueTask SetHeardAsync(Guid session, int sequence, string heard)
        {
            sql.SetHeard(session, sequence, heard);
            return default;
        }

        public Task CommitAsync() => transaction.CommitAsync();

        public ValueTask DisposeAsync() => transaction.DisposeAsync();
    }
}

/// <summary>
/// The turn writer's statements, prepared once on the writer's connection: each runs with new values but is
/// parsed by the database only the first time.
/// </summary>
internal sealed class TurnSql : IDisposable
{
    private readonly SqliteStatement _findById, _findByConversation, _sumFrom, _deleteFrom, _insertMessage, _insertSession, _updateSession, _setHeard;

    public TurnSql(SqliteConnection connection)
    {
        _findById = new(connection,
            """SELECT "Id", "MessageCount", "LastReplySequence" FROM "Sessions" WHERE "Id" = @id AND "OrganizationId" = @org""");
        _findByConversation = new(connection,
            """SELECT "Id", "MessageCount", "LastReplySequence" FROM "Sessions" WHERE "OrganizationId" = @org AND "ConversationId" = @conversation""");
        _sumFrom = new(connection,
            """SELECT COALESCE(SUM("PromptTokens"), 0), COALESCE(SUM("CompletionTokens"), 0) FROM "SessionMessages" WHERE "SessionId" = @session AND "Sequence" >= @sequence""");
        _deleteFrom = new(connection,
            """DELETE FROM "SessionMessages" WHERE "SessionId" = @session AND "Sequence" >= @sequence""");
        _insertMessage = new(connection,
            """
            INSERT INTO "SessionMessages" ("SessionId", "Sequence", "Role", "Content", "ToolCalls", "ToolCallId", "Refusal", "Name", "Parts",
                                           "Agent", "AgentSteps", "Provider", "FinishReason", "PromptTokens", "CompletionTokens", "Interrupted", "CreatedAt")
            VALUES (@session, @sequence, @role, @content, @toolCalls, @toolCallId, @refusal, @name, @parts,
                    @agent, @agentSteps, @provider, @finish, @prompt, @completion, @interrupted, @now)
            """);
        _insertSession = new(connection,
            """
            INSERT INTO "Sessions" ("Id", "OrganizationId", "ApiKeyId", "ConversationId", "UserId", "TranscriptHash", "TurnStartHash",
                                    "TurnInputHash", "CreatedAt", "LastUpdateAt", "EndedAt", "MessageCount",
                                    "LastTurnStart", "LastReplySequence", "PromptTokens", "CompletionTokens")
            VALUES (@id, @org, @key, @conversation, @user, @transcript, @start, @input, @now, @now, @ended, @count,
                    @turnStart, @reply, @prompt, @completion)
            """);
        _updateSession = new(connection,
            """
            UPDATE "Sessions" SET "UserId" = COALESCE(@user, "UserId"), "TranscriptHash" = @transcript, "TurnStartHash" = @start,
                "TurnInputHash" = @input, "LastUpdateAt" = @now, "EndedAt" = @ended,
                "MessageCount" = @count, "LastTurnStart" = CASE WHEN @turnStart > 0 THEN @turnStart ELSE "LastTurnStart" END,
                "LastReplySequence" = @reply, "PromptTokens" = "PromptTokens" + @prompt, "CompletionTokens" = "CompletionTokens" + @completion
            WHERE "Id" = @id
            """);
        _setHeard = new(connection,
            """UPDATE "SessionMessages" SET "HeardContent" = @heard WHERE "SessionId" = @session AND "Sequence" = @sequence AND "Role" = 'assistant'""");
    }

    public StoredSession? Find(Guid id, Guid organization) =>
        _findById.Bind("@id", id).Bind("@org", organization).QueryFirst(ReadSession);

    public StoredSession? Find(Guid organization, string conversation) =>
        _findByConversation.Bind("@org", organization).Bind("@conversation", conversation).QueryFirst(ReadSession);

    private static StoredSession ReadSession(SqliteStatement row) => new(row.Guid(0), row.Int32(1), row.Int32(2));

    /// <summary>Deletes the session's messages from <paramref name="sequence"/> on, returning the tokens they had counted.</summary>
    public (long Prompt, long Completion) DeleteFrom(Guid session, int sequence)
    {
        var tokens = _sumFrom.Bind("@session", session).Bind("@sequence", sequence).QueryFirst(row => (row.Int64(0), row.Int64(1)));
        _deleteFrom.Bind("@session", session).Bind("@sequence", sequence).Execute();
        return tokens;
    }

    public void InsertMessage(Guid session, int sequence, StoredMessage message, TurnOutcome? outcome, DateTime now) =>
        _insertMessage.Bind("@session", session).Bind("@sequence", sequence).Bind("@role", message.Role).Bind("@content", message.Content)
            .Bind("@toolCalls", StoredToolCalls.Serialize(message.ToolCalls)).Bind("@toolCallId", message.ToolCallId)
            .Bind("@refusal", message.Refusal).Bind("@name", message.Name).Bind("@parts", StoredParts.Serialize(message.Parts))
            .Bind("@agent", message.Agent).Bind("@agentSteps", StoredAgentSteps.Serialize(message.AgentSteps)).Bind("@provider", message.Provider)
            .Bind("@finish", outcome?.FinishReason).Bind("@prompt", outcome?.Usage?.Prompt).Bind("@completion", outcome?.Usage?.Completion)
            .Bind("@interrupted", outcome?.Interrupted ?? false).Bind("@now", now)
            .Execute();

    public void InsertSession(Guid id, SessionState state) =>
        _insertSession.Bind("@id", id).Bind("@org", state.Turn.OrganizationId).Bind("@key", state.Turn.ApiKeyId)
            .Bind("@conversation", state.Turn.ConversationId).Bind("@user", state.Turn.UserId)
            .Bind("@transcript", state.TranscriptHash).Bind("@start", state.Turn.StartHash).Bind("@input", state.Turn.InputHash)
            .Bind("@now", state.Now).Bind("@ended", state.EndedAt)
            .Bind("@count", state.MessageCount).Bind("@turnStart", Math.Max(state.TurnStart, 1)).Bind("@reply", state.ReplySequence)
            .Bind("@prompt", state.PromptTokens).Bind("@completion", state.CompletionTokens)
            .Execute();

    public void UpdateSession(Guid id, SessionState state) =>
        _updateSession.Bind("@id", id).Bind("@user", state.Turn.UserId).Bind("@transcript", state.TranscriptHash)
            .Bind("@start", state.Turn.StartHash).Bind("@input", state.Turn.InputHash)
            .Bind("@now", state.Now).Bind("@ended", state.EndedAt).Bind("@count", state.MessageCount).Bind("@turnStart", state.TurnStart)
            .Bind("@reply", state.ReplySequence).Bind("@prompt", state.PromptTokens).Bind("@completion", state.CompletionTokens)
            .Execute();

    public void SetHeard(Guid session, int sequence, string heard) =>
        _setHeard.Bind("@session", session).Bind("@sequence", sequence).Bind("@heard", heard).Execute();

    public void Dispose()
    {
        foreach (var statement in new[] { _findById, _findByConversation, _sumFrom, _deleteFrom, _insertMessage, _insertSession, _updateSession, _setHeard })
            statement.Dispose();
    }
}
