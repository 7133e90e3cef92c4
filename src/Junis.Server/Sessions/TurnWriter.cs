using System.Threading.Channels;
using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Sessions;

/// <summary>
/// Stores turns. Turns from concurrent requests are gathered and written in one transaction (group commit),
/// and each caller's task completes only when the transaction holding its turn has committed: a caller that
/// waits for it before answering never acknowledges a turn that could be lost. One writer also means turns of
/// one session never race for sequence numbers.
/// </summary>
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
        await using var transaction = await db.Database.BeginTransactionAsync();
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var pending in batch)
            await ApplyAsync(db, pending.Turn, pending.Outcome, now);
        await db.SaveChangesAsync();
        await transaction.CommitAsync();
    }

    private async Task ApplyAsync(JunisDb db, Turn turn, TurnOutcome outcome, DateTime now)
    {
        var session = await FindAsync(db, turn);
        if (session is null && turn.Kind != TurnKind.NewSession)
        {
            // Deleted while the turn ran: the caller asked for it to be gone, so nothing of it comes back.
            logger.LogInformation("Session {SessionId} was deleted during a turn; the turn is not stored", turn.SessionId);
            return;
        }
        if (session is null)
        {
            session = new Session
            {
                Id = turn.SessionId,
                OrganizationId = turn.OrganizationId,
                ApiKeyId = turn.ApiKeyId,
                ConversationId = turn.ConversationId,
                CreatedAt = now,
            };
            db.Sessions.Add(session);
        }
        session.UserId = turn.UserId ?? session.UserId;

        if (turn.Kind == TurnKind.Replay)
        {
            // The turn's input is stored already; its reply, if any, makes way for the new one.
            var replyAt = session.LastReplySequence > 0 ? session.LastReplySequence : session.MessageCount + 1;
            var replaced = await db.SessionMessages.Where(m => m.SessionId == session.Id && m.Sequence >= replyAt).ToListAsync();
            db.SessionMessages.RemoveRange(replaced);
            session.PromptTokens -= replaced.Sum(m => m.PromptTokens ?? 0);
            session.CompletionTokens -= replaced.Sum(m => m.CompletionTokens ?? 0);
            session.MessageCount = replyAt - 1;
        }
        else
        {
            session.LastTurnStart = session.MessageCount + 1;
            foreach (var message in turn.Input)
                db.SessionMessages.Add(ToEntity(session, message, now));
        }

        session.TurnStartHash = turn.StartHash;
        session.TurnInputHash = turn.InputHash;
        session.UserTurnsHash = turn.UserTurnsHash;
        session.TranscriptHash = turn.InputHash;
        session.LastReplySequence = 0;
        if (outcome.Reply is { } reply)
        {
            var stored = ToEntity(session, reply, now);
            stored.FinishReason = outcome.FinishReason;
            stored.PromptTokens = outcome.Usage?.PromptTokens;
            stored.CompletionTokens = outcome.Usage?.CompletionTokens;
            stored.Interrupted = outcome.Interrupted;
            db.SessionMessages.Add(stored);
            session.LastReplySequence = stored.Sequence;
            session.TranscriptHash = TranscriptHash.Extend(turn.InputHash, reply.Transcript);
            session.PromptTokens += outcome.Usage?.PromptTokens ?? 0;
            session.CompletionTokens += outcome.Usage?.CompletionTokens ?? 0;
        }
        session.EndedAt = outcome.EndsConversation ? now : null;
        session.LastUpdateAt = now;
    }

    /// <summary>The session the turn belongs to, looking first among those this batch has already touched.</summary>
    private static async Task<Session?> FindAsync(JunisDb db, Turn turn)
    {
        if (turn.Kind != TurnKind.NewSession)
            return await db.Sessions.FirstOrDefaultAsync(s => s.Id == turn.SessionId && s.OrganizationId == turn.OrganizationId);
        if (turn.ConversationId is not { } conversation)
            return null;
        // Two first requests of one conversation may both have found nothing: the second joins the first.
        return db.Sessions.Local.FirstOrDefault(s => s.OrganizationId == turn.OrganizationId && s.ConversationId == conversation)
            ?? await db.Sessions.FirstOrDefaultAsync(s => s.OrganizationId == turn.OrganizationId && s.ConversationId == conversation);
    }

    private static SessionMessage ToEntity(Session session, StoredMessage message, DateTime now) => new()
    {
        SessionId = session.Id,
        Sequence = ++session.MessageCount,
        Role = message.Role,
        Content = message.Content,
        ToolCalls = StoredToolCalls.Serialize(message.ToolCalls),
        ToolCallId = message.ToolCallId,
        CreatedAt = now,
    };

    private sealed record PendingTurn(Turn Turn, TurnOutcome Outcome, TaskCompletionSource Stored);
}
