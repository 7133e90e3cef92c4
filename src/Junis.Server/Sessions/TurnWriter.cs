using System.Threading.Channels;
using Junis.Server.Sessions.Storage;

namespace Junis.Server.Sessions;

/// <summary>
/// Stores turns. Turns from concurrent requests are gathered and written in one transaction (group commit),
/// and each caller's task completes only when the transaction holding its turn has committed: a caller that
/// waits for it before answering never acknowledges a turn that could be lost. One writer also means turns of
/// one session never race for sequence numbers (the guarantees, and what several instances need: <see cref="ITurnStore"/>).
/// </summary>
public sealed partial class TurnWriter(ITurnStore store, FailedTurns failedTurns, TimeProvider clock, ILogger<TurnWriter> logger) : BackgroundService
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
            await store.ResetAsync();
        }
    }

    private async Task CommitAsync(List<PendingTurn> batch)
    {
        try
        {
            await WriteBatchAsync(batch);
            foreach (var pending in batch)
            {
                // Stored without a reply: a retry of it may follow (SessionResolver).
                if (pending.Outcome.Reply is null && pending.Turn.ConversationId is null)
                    failedTurns.Failed(pending.Turn.OrganizationId, pending.Turn.ApiKeyId, pending.Turn.InputHash);
                pending.Stored.TrySetResult();
            }
        }
        catch (Exception e) when (batch.Count > 1)
        {
            // One bad turn must not sink the others: write them one by one, on a fresh connection.
            await store.ResetAsync();
            BatchFailed(logger, e, batch.Count);
            foreach (var pending in batch)
                await CommitAsync([pending]);
        }
        catch (Exception e)
        {
            await store.ResetAsync();
            TurnFailed(logger, e, batch[0].Turn.SessionId);
            batch[0].Stored.TrySetException(e);
        }
    }

    private async Task WriteBatchAsync(List<PendingTurn> batch)
    {
        await using var transaction = await store.BeginAsync();
        await transaction.LockAsync(batch.ConvertAll(pending => pending.Turn.SessionId));
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var pending in batch)
            await ApplyAsync(transaction, pending.Turn, pending.Outcome, now);
        await transaction.CommitAsync();
    }

    private async Task ApplyAsync(ITurnTransaction sql, Turn turn, TurnOutcome outcome, DateTime now)
    {
        // Two first requests of one conversation may both have found nothing: the second joins the first.
        var stored = turn.Kind != TurnKind.NewSession ? await sql.FindAsync(turn.SessionId, turn.OrganizationId)
            : turn.ConversationId is { } conversation ? await sql.FindAsync(turn.OrganizationId, conversation)
            : null;
        if (stored is null && turn.Kind != TurnKind.NewSession)
        {
            // Deleted while the turn ran: the caller asked for it to be gone, so nothing of it comes back.
            DeletedDuringTurn(logger, turn.SessionId);
            return;
        }

        var session = stored ?? new StoredSession(turn.SessionId, MessageCount: 0, LastReplySequence: 0);
        var count = session.MessageCount;
        var turnStart = -1;
        long promptTokens = outcome.Usage?.Prompt ?? 0, completionTokens = outcome.Usage?.Completion ?? 0;
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
        // In the turn's transaction: the session never holds the caller's next words without what it had heard before them.
        if (turn.Heard is { } heard)
            await sql.SetHeardAsync(session.Id, heard.Sequence, heard.Content);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} turns failed; writing them one at a time")]
    private static partial void BatchFailed(ILogger logger, Exception e, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing a turn of session {SessionId} failed")]
    private static partial void TurnFailed(ILogger logger, Exception e, Guid sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} was deleted during a turn; the turn is not stored")]
    private static partial void DeletedDuringTurn(ILogger logger, Guid sessionId);

    private sealed record PendingTurn(Turn Turn, TurnOutcome Outcome, TaskCompletionSource Stored);
}
