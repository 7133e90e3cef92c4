using System.Data.Common;
using System.Threading.Channels;
using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Junis.Server.Sessions;

/// <summary>
/// Stores turns. Turns from concurrent requests are gathered and written in one transaction (group commit),
/// and each caller's task completes only when the transaction holding its turn has committed: a caller that
/// waits for it before answering never acknowledges a turn that could be lost. One writer also means turns of
/// one session never race for sequence numbers.
/// </summary>
/// <remarks>
/// The writes are plain parameterized SQL on the context's connection, with parameters made by EF Core's own
/// type mappings so values are stored exactly as EF stores them. Measured: change tracking and command building
/// cost more than a third of a turn's CPU, and this path runs for every turn.
/// </remarks>
public sealed class TurnWriter(IDbContextFactory<JunisDb> databases, TimeProvider clock, ILogger<TurnWriter> logger) : BackgroundService
{
    private const int MaxBatch = 256;
    private readonly Channel<PendingTurn> _queue = Channel.CreateUnbounded<PendingTurn>(new UnboundedChannelOptions { SingleReader = true });

    public Task WriteAsync(Turn turn, TurnOutcome outcome)
    {
        var pending = new PendingTurn(turn, outcome, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
            throw new InvalidOperationException("The server is shutting down; the turn was not stored.");
        return pending.Stored.Task;
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        // Finish what was queued, then stop: turns already taken are written before the process ends.
        _queue.Writer.TryComplete();
        return base.StopAsync(cancellationToken);
    }

    // The writer's own context and statements, prepared once and reused batch after batch.
    private JunisDb? _db;
    private TurnSql? _sql;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingTurn>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
            {
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
                    batch.Add(pending);
                await CommitAsync(batch);
                batch.Clear();
            }
        }
        finally
        {
            await ResetAsync();
        }
    }

    private async Task ResetAsync()
    {
        _sql?.Dispose();
        _sql = null;
        if (_db is not null)
            await _db.DisposeAsync();
        _db = null;
    }

    private async Task CommitAsync(List<PendingTurn> batch)
    {
        try
        {
            await WriteBatchAsync(batch);
            foreach (var pending in batch)
                pending.Stored.TrySetResult();
        }
        catch (Exception e) when (batch.Count > 1)
        {
            // One bad turn must not sink the others: write them one by one, on a fresh connection.
            await ResetAsync();
            logger.LogWarning(e, "A batch of {Count} turns failed; writing them one at a time", batch.Count);
            foreach (var pending in batch)
                await CommitAsync([pending]);
        }
        catch (Exception e)
        {
            await ResetAsync();
            logger.LogError(e, "Storing a turn of session {SessionId} failed", batch[0].Turn.SessionId);
            batch[0].Stored.TrySetException(e);
        }
    }

    private async Task WriteBatchAsync(List<PendingTurn> batch)
    {
        if (_db is null)
        {
            _db = await databases.CreateDbContextAsync();
            await _db.Database.OpenConnectionAsync();
        }
        _sql ??= new TurnSql(_db);
        await using var transaction = await _db.Database.BeginTransactionAsync();
        _sql.Transaction = transaction.GetDbTransaction();
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var pending in batch)
            await ApplyAsync(_sql, pending.Turn, pending.Outcome, now);
        await transaction.CommitAsync();
    }

    private async Task ApplyAsync(TurnSql sql, Turn turn, TurnOutcome outcome, DateTime now)
    {
        // Two first requests of one conversation may both have found nothing: the second joins the first.
        var stored = turn.Kind != TurnKind.NewSession ? await sql.FindAsync(turn.SessionId, turn.OrganizationId)
            : turn.ConversationId is { } conversation ? await sql.FindAsync(turn.OrganizationId, conversation)
            : null;
        if (stored is null && turn.Kind != TurnKind.NewSession)
        {
            // Deleted while the turn ran: the caller asked for it to be gone, so nothing of it comes back.
            logger.LogInformation("Session {SessionId} was deleted during a turn; the turn is not stored", turn.SessionId);
            return;
        }

        var session = stored ?? new StoredSession(turn.SessionId, MessageCount: 0, LastReplySequence: 0);
        var count = session.MessageCount;
        var turnStart = -1;
        long promptTokens = outcome.Usage?.PromptTokens ?? 0, completionTokens = outcome.Usage?.CompletionTokens ?? 0;
        var messages = new List<(int Sequence, StoredMessage Message, TurnOutcome? Outcome)>(turn.Input.Count + 1);
        if (turn.Kind == TurnKind.Replay && stored is not null)
        {
            // The turn's input is stored already; its reply, if any, makes way for the new one.
            var replyAt = session.LastReplySequence > 0 ? session.LastReplySequence : count + 1;
            var (replacedPrompt, replacedCompletion) = await sql.DeleteFromAsync(session.Id, replyAt);
            promptTokens -= replacedPrompt;
            completionTokens -= replacedCompletion;
            count = replyAt - 1;
        }
        else
        {
            turnStart = count + 1;
            foreach (var message in turn.Input)
                messages.Add((++count, message, null));
        }

        var transcriptHash = turn.InputHash;
        var replySequence = 0;
        if (outcome.Reply is { } reply)
        {
            replySequence = ++count;
            messages.Add((replySequence, reply, outcome));
            transcriptHash = TranscriptHash.Extend(turn.InputHash, reply.Transcript);
        }

        // The session first: its messages refer to it.
        var state = new SessionState(turn, transcriptHash, count, turnStart, replySequence, promptTokens, completionTokens,
            EndedAt: outcome.EndsConversation ? now : null, now);
        if (stored is null)
            await sql.InsertSessionAsync(session.Id, state);
        else
            await sql.UpdateSessionAsync(session.Id, state);
        foreach (var (sequence, message, messageOutcome) in messages)
            await sql.InsertMessageAsync(session.Id, sequence, message, messageOutcome, now);
    }

    private sealed record PendingTurn(Turn Turn, TurnOutcome Outcome, TaskCompletionSource Stored);
}

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
        {
            // EF Core's mapping for the type makes the parameter, so a value is stored as EF stores it (a Guid as SQLite text, say).
            var mapping = _mappings.FindMapping(type)!;
            command.Parameters.Add(mapping.CreateParameter(command, name, value: null, nullable: true));
        }
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
