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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingTurn>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
                batch.Add(pending);
            await CommitAsync(batch);
            batch.Clear();
        }
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
            // One bad turn must not sink the others: write them one by one.
            logger.LogWarning(e, "A batch of {Count} turns failed; writing them one at a time", batch.Count);
            foreach (var pending in batch)
                await CommitAsync([pending]);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Storing a turn of session {SessionId} failed", batch[0].Turn.SessionId);
            batch[0].Stored.TrySetException(e);
        }
    }

    private async Task WriteBatchAsync(List<PendingTurn> batch)
    {
        await using var db = await databases.CreateDbContextAsync();
        await db.Database.OpenConnectionAsync();
        await using var transaction = await db.Database.BeginTransactionAsync();
        var sql = new TurnSql(db, transaction.GetDbTransaction());
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var pending in batch)
            await ApplyAsync(sql, pending.Turn, pending.Outcome, now);
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

/// <summary>The turn writer's statements, on one connection and transaction.</summary>
internal sealed class TurnSql(JunisDb db, DbTransaction transaction)
{
    private readonly IRelationalTypeMappingSource _mappings = db.GetService<IRelationalTypeMappingSource>();
    private readonly DbConnection _connection = db.Database.GetDbConnection();

    public Task<StoredSession?> FindAsync(Guid id, Guid organization) => FindAsync(
        """SELECT "Id", "MessageCount", "LastReplySequence" FROM "Sessions" WHERE "Id" = @id AND "OrganizationId" = @org""",
        ("@id", id), ("@org", organization));

    public Task<StoredSession?> FindAsync(Guid organization, string conversation) => FindAsync(
        """SELECT "Id", "MessageCount", "LastReplySequence" FROM "Sessions" WHERE "OrganizationId" = @org AND "ConversationId" = @conversation""",
        ("@org", organization), ("@conversation", conversation));

    private async Task<StoredSession?> FindAsync(string text, params (string, object?)[] parameters)
    {
        await using var command = Command(text, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new StoredSession(reader.GetFieldValue<Guid>(0), reader.GetInt32(1), reader.GetInt32(2))
            : null;
    }

    /// <summary>Deletes the session's messages from <paramref name="sequence"/> on, returning the tokens they had counted.</summary>
    public async Task<(long Prompt, long Completion)> DeleteFromAsync(Guid session, int sequence)
    {
        (long, long) tokens;
        await using (var sum = Command(
            """SELECT COALESCE(SUM("PromptTokens"), 0), COALESCE(SUM("CompletionTokens"), 0) FROM "SessionMessages" WHERE "SessionId" = @session AND "Sequence" >= @sequence""",
            ("@session", session), ("@sequence", sequence)))
        await using (var reader = await sum.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            tokens = (reader.GetInt64(0), reader.GetInt64(1));
        }
        await using var delete = Command(
            """DELETE FROM "SessionMessages" WHERE "SessionId" = @session AND "Sequence" >= @sequence""",
            ("@session", session), ("@sequence", sequence));
        await delete.ExecuteNonQueryAsync();
        return tokens;
    }

    public async Task InsertMessageAsync(Guid session, int sequence, StoredMessage message, TurnOutcome? outcome, DateTime now)
    {
        await using var command = Command(
            """
            INSERT INTO "SessionMessages" ("SessionId", "Sequence", "Role", "Content", "ToolCalls", "ToolCallId", "FinishReason",
                                           "PromptTokens", "CompletionTokens", "Interrupted", "CreatedAt")
            VALUES (@session, @sequence, @role, @content, @toolCalls, @toolCallId, @finish, @prompt, @completion, @interrupted, @now)
            """,
            ("@session", session), ("@sequence", sequence), ("@role", message.Role), ("@content", message.Content),
            ("@toolCalls", StoredToolCalls.Serialize(message.ToolCalls)), ("@toolCallId", message.ToolCallId),
            ("@finish", outcome?.FinishReason), ("@prompt", outcome?.Usage?.PromptTokens), ("@completion", outcome?.Usage?.CompletionTokens),
            ("@interrupted", outcome?.Interrupted ?? false), ("@now", now));
        await command.ExecuteNonQueryAsync();
    }

    public async Task InsertSessionAsync(Guid id, SessionState state)
    {
        var turn = state.Turn;
        await using var command = Command(
            """
            INSERT INTO "Sessions" ("Id", "OrganizationId", "ApiKeyId", "ConversationId", "UserId", "TranscriptHash", "TurnStartHash",
                                    "TurnInputHash", "UserTurnsHash", "CreatedAt", "LastUpdateAt", "EndedAt", "MessageCount",
                                    "LastTurnStart", "LastReplySequence", "PromptTokens", "CompletionTokens")
            VALUES (@id, @org, @key, @conversation, @user, @transcript, @start, @input, @users, @now, @now, @ended, @count,
                    @turnStart, @reply, @prompt, @completion)
            """,
            ("@id", id), ("@org", turn.OrganizationId), ("@key", turn.ApiKeyId), ("@conversation", turn.ConversationId),
            ("@user", turn.UserId), ("@transcript", state.TranscriptHash), ("@start", turn.StartHash), ("@input", turn.InputHash),
            ("@users", turn.UserTurnsHash), ("@now", state.Now), ("@ended", state.EndedAt), ("@count", state.MessageCount),
            ("@turnStart", Math.Max(state.TurnStart, 1)), ("@reply", state.ReplySequence), ("@prompt", state.PromptTokens),
            ("@completion", state.CompletionTokens));
        await command.ExecuteNonQueryAsync();
    }

    public async Task UpdateSessionAsync(Guid id, SessionState state)
    {
        var turn = state.Turn;
        await using var command = Command(
            """
            UPDATE "Sessions" SET "UserId" = COALESCE(@user, "UserId"), "TranscriptHash" = @transcript, "TurnStartHash" = @start,
                "TurnInputHash" = @input, "UserTurnsHash" = @users, "LastUpdateAt" = @now, "EndedAt" = @ended,
                "MessageCount" = @count, "LastTurnStart" = CASE WHEN @turnStart > 0 THEN @turnStart ELSE "LastTurnStart" END,
                "LastReplySequence" = @reply, "PromptTokens" = "PromptTokens" + @prompt, "CompletionTokens" = "CompletionTokens" + @completion
            WHERE "Id" = @id
            """,
            ("@id", id), ("@user", turn.UserId), ("@transcript", state.TranscriptHash), ("@start", turn.StartHash),
            ("@input", turn.InputHash), ("@users", turn.UserTurnsHash), ("@now", state.Now), ("@ended", state.EndedAt),
            ("@count", state.MessageCount), ("@turnStart", state.TurnStart), ("@reply", state.ReplySequence),
            ("@prompt", state.PromptTokens), ("@completion", state.CompletionTokens));
        await command.ExecuteNonQueryAsync();
    }

    private DbCommand Command(string text, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = text;
        foreach (var (name, value) in parameters)
        {
            // EF Core's mapping for the value's type writes it as EF writes that type (a Guid as SQLite text, say).
            var mapping = value is null ? _mappings.FindMapping(typeof(string))! : _mappings.FindMapping(value.GetType())!;
            command.Parameters.Add(mapping.CreateParameter(command, name, value, nullable: true));
        }
        return command;
    }
}
