using System.Threading.Channels;
using Junis.Server.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Sessions;

/// <summary>
/// Stores turns. Turns from concurrent requests are gathered and written in one transaction (group commit),
/// and each caller's task completes only when the transaction holding its turn has committed: a caller that
/// waits for it before answering never acknowledges a turn that could be lost. One writer also means turns of
/// one session never race for sequence numbers.
/// </summary>
/// <remarks>
/// The writes are plain SQL prepared once on the context's connection (<see cref="TurnSql"/>). Measured: change
/// tracking and command building cost more than a third of a turn's CPU, and this path runs for every turn.
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
        _sql ??= new TurnSql((SqliteConnection)_db.Database.GetDbConnection());
        // EF Core's transaction (BEGIN IMMEDIATE on SQLite), so its interceptors see the commit; the statements run
        // synchronously, which is how SQLite runs them whatever the API says.
        await using var transaction = await _db.Database.BeginTransactionAsync();
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var pending in batch)
            Apply(_sql, pending.Turn, pending.Outcome, now);
        await transaction.CommitAsync();
    }

    private void Apply(TurnSql sql, Turn turn, TurnOutcome outcome, DateTime now)
    {
        // Two first requests of one conversation may both have found nothing: the second joins the first.
        var stored = turn.Kind != TurnKind.NewSession ? sql.Find(turn.SessionId, turn.OrganizationId)
            : turn.ConversationId is { } conversation ? sql.Find(turn.OrganizationId, conversation)
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
        long promptTokens = outcome.Usage?.Prompt ?? 0, completionTokens = outcome.Usage?.Completion ?? 0;
        var messages = new List<(int Sequence, StoredMessage Message, TurnOutcome? Outcome)>(turn.Input.Count + 1);
        if (turn.Kind == TurnKind.Replay && stored is not null)
        {
            // The turn's input is stored already; its reply, if any, makes way for the new one.
            var replyAt = session.LastReplySequence > 0 ? session.LastReplySequence : count + 1;
            var (replacedPrompt, replacedCompletion) = sql.DeleteFrom(session.Id, replyAt);
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
            sql.InsertSession(session.Id, state);
        else
            sql.UpdateSession(session.Id, state);
        foreach (var (sequence, message, messageOutcome) in messages)
            sql.InsertMessage(session.Id, sequence, message, messageOutcome, now);
    }

    private sealed record PendingTurn(Turn Turn, TurnOutcome Outcome, TaskCompletionSource Stored);
}
