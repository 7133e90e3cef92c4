using System.Threading.Channels;
using Junis.Server.Data;

namespace Junis.Server.Usage;

/// <summary>
/// Keeps the usage ledger off the request path: a request's usage goes into a queue in memory, and a background writer
/// appends it in batches, one row per organization, key, agent and day of the batch (<see cref="UsageRecord"/>).
/// On shutdown, what is queued is written before the process ends.
/// </summary>
public sealed partial class UsageLedger(IServiceScopeFactory scopes, TimeProvider clock, ILogger<UsageLedger> logger) : BackgroundService
{
    /// <summary>How long a batch gathers: the ledger is at most this late, plus the write.</summary>
    internal static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(500);

    /// <summary>Beyond this many waiting entries (a database that does not take writes), new ones are counted as lost, not queued.</summary>
    private const int MaxQueued = 100_000;

    private readonly Channel<UsageEntry> _queue = Channel.CreateBounded<UsageEntry>(
        new BoundedChannelOptions(MaxQueued) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Rows of a batch whose write failed, tried again with the next.</summary>
    private readonly List<UsageRecord> _unwritten = [];

    private long _lost;

    /// <summary>Queues a turn's usage, as of now; never waits.</summary>
    public void Record(Guid organization, Guid apiKey, string? agent, long promptTokens, long completionTokens, bool failed, int? firstTokenMs) =>
        Record(new UsageEntry(organization, apiKey, agent, clock.GetUtcNow().UtcDateTime, promptTokens, completionTokens, failed, firstTokenMs));

    /// <summary>Queues a turn's usage; never waits.</summary>
    public void Record(UsageEntry entry)
    {
        if (!_queue.Writer.TryWrite(entry) && Interlocked.Increment(ref _lost) % 1000 == 1)
            Lost(logger, Interlocked.Read(ref _lost));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(BatchWindow, clock, stoppingToken);
                await WriteAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync writes what is left.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await WriteAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host would wait no longer.
            NotWrittenAtStop(logger, _queue.Reader.Count + _unwritten.Count);
        }
    }

    /// <summary>One write at a time: the last, on stopping, may begin while a batch's is still under way.</summary>
    private readonly SemaphoreSlim _writing = new(1, 1);

    /// <summary>Appends what is queued, summed by organization, key, agent and day.</summary>
    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            await WriteQueuedAsync(cancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task WriteQueuedAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var rows = new Dictionary<(Guid, Guid, string?, DateOnly), UsageRecord>();
        while (_queue.Reader.TryRead(out var entry))
        {
            var day = DateOnly.FromDateTime(entry.At);
            if (!rows.TryGetValue((entry.OrganizationId, entry.ApiKeyId, entry.Agent, day), out var row))
            {
                row = new UsageRecord { OrganizationId = entry.OrganizationId, ApiKeyId = entry.ApiKeyId, Agent = entry.Agent, Day = day, WrittenAt = now };
                rows.Add((entry.OrganizationId, entry.ApiKeyId, entry.Agent, day), row);
            }
            row.Requests++;
            row.Errors += entry.Failed ? 1 : 0;
            row.PromptTokens += entry.PromptTokens;
            row.CompletionTokens += entry.CompletionTokens;
            if (entry.FirstTokenMs is { } firstToken)
            {
                row.FirstTokenMsTotal += firstToken;
                row.FirstTokenCount++;
            }
        }
        _unwritten.AddRange(rows.Values);
        if (_unwritten.Count == 0)
            return;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
            db.UsageRecords.AddRange(_unwritten);
            await db.SaveChangesAsync(cancellationToken);
            _unwritten.Clear();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // One transaction: none was written. Tried again with the next batch, up to a bound.
            NotWritten(logger, e, _unwritten.Count);
            foreach (var row in _unwritten)
                row.Id = 0;
            if (_unwritten.Count > MaxQueued)
            {
                Interlocked.Add(ref _lost, _unwritten.Count - MaxQueued);
                _unwritten.RemoveRange(0, _unwritten.Count - MaxQueued);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing {Rows} rows of the usage ledger failed; they are tried again with the next batch")]
    private static partial void NotWritten(ILogger logger, Exception e, int rows);

    [LoggerMessage(Level = LogLevel.Error, Message = "The server stopped before {Waiting} entries of the usage ledger were written")]
    private static partial void NotWrittenAtStop(ILogger logger, int waiting);

    [LoggerMessage(Level = LogLevel.Error, Message = "The usage ledger's queue is full: {Lost} requests' usage lost so far")]
    private static partial void Lost(ILogger logger, long lost);
}
