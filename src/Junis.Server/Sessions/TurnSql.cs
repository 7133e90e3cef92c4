using System.Data.Common;
using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Junis.Server.Sessions;

/// <summary>What the writer needs to know of a stored session.</summary>
internal sealed record StoredSession(Guid Id, int MessageCount, int LastReplySequence);

/// <summary>Where a session stands after a turn. <c>TurnStart</c> is -1 for a replay, which keeps the last turn's start.</summary>
internal sealed record SessionState(
    Turn Turn, byte[] TranscriptHash, int MessageCount, int TurnStart, int ReplySequence,
    long PromptTokens, long CompletionTokens, DateTime? EndedAt, DateTime Now);

/// <summary>
/// The turn writer's statements, prepared once on the writer's connection: each runs with new values but is
/// parsed by the database only the first time.
/// </summary>
internal sealed class TurnSql : IDisposable
{
    private readonly IRelationalTypeMappingSource _mappings;
    private readonly DbConnection _connection;
    private readonly List<DbCommand> _commands = [];
    private readonly DbCommand _findById, _findByConversation, _sumFrom, _deleteFrom, _insertMessage, _insertSession, _updateSession;

    public TurnSql(JunisDb db)
    {
        _mappings = db.GetService<IRelationalTypeMappingSource>();
        _connection = db.Database.GetDbConnection();
        _findById = Prepare(
            """SELECT "Id", "MessageCount", "LastReplySequence" FROM "Sessions" WHERE "Id" = @id AND "OrganizationId" = @org""",
            ("@id", typeof(Guid)), ("@org", typeof(Guid)));
        _findByConversation = Prepare(
            """SELECT "Id", "MessageCount", "LastReplySequence" FROM "Sessions" WHERE "OrganizationId" = @org AND "ConversationId" = @conversation""",
            ("@org", typeof(Guid)), ("@conversation", typeof(string)));
        _sumFrom = Prepare(
            """SELECT COALESCE(SUM("PromptTokens"), 0), COALESCE(SUM("CompletionTokens"), 0) FROM "SessionMessages" WHERE "SessionId" = @session AND "Sequence" >= @sequence""",
            ("@session", typeof(Guid)), ("@sequence", typeof(int)));
        _deleteFrom = Prepare(
            """DELETE FROM "SessionMessages" WHERE "SessionId" = @session AND "Sequence" >= @sequence""",
            ("@session", typeof(Guid)), ("@sequence", typeof(int)));
        _insertMessage = Prepare(
            """
            INSERT INTO "SessionMessages" ("SessionId", "Sequence", "Role", "Content", "ToolCalls", "ToolCallId", "FinishReason",
                                           "PromptTokens", "CompletionTokens", "Interrupted", "CreatedAt")
            VALUES (@session, @sequence, @role, @content, @toolCalls, @toolCallId, @finish, @prompt, @completion, @interrupted, @now)
            """,
            ("@session", typeof(Guid)), ("@sequence", typeof(int)), ("@role", typeof(string)), ("@content", typeof(string)),
            ("@toolCalls", typeof(string)), ("@toolCallId", typeof(string)), ("@finish", typeof(string)), ("@prompt", typeof(int)),
            ("@completion", typeof(int)), ("@interrupted", typeof(bool)), ("@now", typeof(DateTime)));
        _insertSession = Prepare(
            """
            INSERT INTO "Sessions" ("Id", "OrganizationId", "ApiKeyId", "ConversationId", "UserId", "TranscriptHash", "TurnStartHash",
                                    "TurnInputHash", "UserTurnsHash", "CreatedAt", "LastUpdateAt", "EndedAt", "MessageCount",
                                    "LastTurnStart", "LastReplySequence", "PromptTokens", "CompletionTokens")
            VALUES (@id, @org, @key, @conversation, @user, @transcript, @start, @input, @users, @now, @now, @ended, @count,
                    @turnStart, @reply, @prompt, @completion)
            """,
            ("@id", typeof(Guid)), ("@org", typeof(Guid)), ("@key", typeof(Guid)), ("@conversation", typeof(string)),
            ("@user", typeof(string)), ("@transcript", typeof(byte[])), ("@start", typeof(byte[])), ("@input", typeof(byte[])),
            ("@users", typeof(byte[])), ("@now", typeof(DateTime)), ("@ended", typeof(DateTime)), ("@count", typeof(int)),
            ("@turnStart", typeof(int)), ("@reply", typeof(int)), ("@prompt", typeof(long)), ("@completion", typeof(long)));
        _updateSession = Prepare(
            """
            UPDATE "Sessions" SET "UserId" = COALESCE(@user, "UserId"), "TranscriptHash" = @transcript, "TurnStartHash" = @start,
                "TurnInputHash" = @input, "UserTurnsHash" = @users, "LastUpdateAt" = @now, "EndedAt" = @ended,
                "MessageCount" = @count, "LastTurnStart" = CASE WHEN @turnStart > 0 THEN @turnStart ELSE "LastTurnStart" END,
                "LastReplySequence" = @reply, "PromptTokens" = "PromptTokens" + @prompt, "CompletionTokens" = "CompletionTokens" + @completion
            WHERE "Id" = @id
            """,
            ("@id", typeof(Guid)), ("@user", typeof(string)), ("@transcript", typeof(byte[])), ("@start", typeof(byte[])),
            ("@input", typeof(byte[])), ("@users", typeof(byte[])), ("@now", typeof(DateTime)), ("@ended", typeof(DateTime)),
            ("@count", typeof(int)), ("@turnStart", typeof(int)), ("@reply", typeof(int)), ("@prompt", typeof(long)), ("@completion", typeof(long)));
    }

    /// <summary>The transaction the next statements run in.</summary>
    public DbTransaction? Transaction
    {
        set
        {
            foreach (var command in _commands)
                command.Transaction = value;
        }
    }

    public Task<StoredSession?> FindAsync(Guid id, Guid organization) => FindAsync(With(_findById, id, organization));

    public Task<StoredSession?> FindAsync(Guid organization, string conversation) => FindAsync(With(_findByConversation, organization, conversation));

    private static async Task<StoredSession?> FindAsync(DbCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new StoredSession(reader.GetFieldValue<Guid>(0), reader.GetInt32(1), reader.GetInt32(2))
            : null;
    }

    /// <summary>Deletes the session's messages from <paramref name="sequence"/> on, returning the tokens they had counted.</summary>
    public async Task<(long Prompt, long Completion)> DeleteFromAsync(Guid session, int sequence)
    {
        (long, long) tokens;
        await using (var reader = await With(_sumFrom, session, sequence).ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            tokens = (reader.GetInt64(0), reader.GetInt64(1));
        }
        await With(_deleteFrom, session, sequence).ExecuteNonQueryAsync();
        return tokens;
    }

    public Task InsertMessageAsync(Guid session, int sequence, StoredMessage message, TurnOutcome? outcome, DateTime now) =>
        With(_insertMessage, session, sequence, message.Role, message.Content, StoredToolCalls.Serialize(message.ToolCalls), message.ToolCallId,
            outcome?.FinishReason, outcome?.Usage?.PromptTokens, outcome?.Usage?.CompletionTokens, outcome?.Interrupted ?? false, now)
        .ExecuteNonQueryAsync();

    public Task InsertSessionAsync(Guid id, SessionState state) =>
        With(_insertSession, id, state.Turn.OrganizationId, state.Turn.ApiKeyId, state.Turn.ConversationId, state.Turn.UserId,
            state.TranscriptHash, state.Turn.StartHash, state.Turn.InputHash, state.Turn.UserTurnsHash, state.Now, state.EndedAt,
            state.MessageCount, Math.Max(state.TurnStart, 1), state.ReplySequence, state.PromptTokens, state.CompletionTokens)
        .ExecuteNonQueryAsync();

    public Task UpdateSessionAsync(Guid id, SessionState state) =>
        With(_updateSession, id, state.Turn.UserId, state.TranscriptHash, state.Turn.StartHash, state.Turn.InputHash,
            state.Turn.UserTurnsHash, state.Now, state.EndedAt, state.MessageCount, state.TurnStart, state.ReplySequence,
            state.PromptTokens, state.CompletionTokens)
        .ExecuteNonQueryAsync();

    private DbCommand Prepare(string text, params (string Name, Type Type)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = text;
        foreach (var (name, type) in parameters)
            command.Parameters.Add(PlainSql.Parameter(_mappings, command, name, type, value: null));
        command.Prepare();
        _commands.Add(command);
        return command;
    }

    /// <summary>The command with its parameters set to <paramref name="values"/>, in the order they were declared.</summary>
    private static DbCommand With(DbCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands)
            command.Dispose();
    }
}
