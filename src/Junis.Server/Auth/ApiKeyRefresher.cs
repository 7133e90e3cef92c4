using Junis.Server.Auth.PostgreSql;

namespace Junis.Server.Auth;

/// <summary>
/// Loads the keys before the server takes requests, then keeps the directory current: at once when told of a change
/// (<see cref="KeyChanges"/>, on PostgreSQL), and otherwise by looking four times a second.
/// </summary>
public sealed partial class ApiKeyRefresher(
    ApiKeyDirectory directory, BootstrapKey bootstrap, ILogger<ApiKeyRefresher> logger, KeyChanges? changes = null) : BackgroundService
{
    // A key created or revoked anywhere takes effect here within a second; the look costs one small query.
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromMilliseconds(250);
    private readonly SemaphoreSlim _changed = new(0, 1);
    private static readonly TimeSpan FlushEvery = TimeSpan.FromMinutes(1);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await bootstrap.EnsureAsync(cancellationToken);
        await directory.RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listening = changes?.ListenAsync(Changed, stoppingToken) ?? Task.CompletedTask;
        var lastFlush = DateTime.UtcNow;
        try
        {
            while (true)
            {
                await _changed.WaitAsync(RefreshEvery, stoppingToken);
                try
                {
                    await directory.RefreshAsync(stoppingToken);
                    if (DateTime.UtcNow - lastFlush >= FlushEvery)
                    {
                        await directory.FlushLastUsedAsync(stoppingToken);
                        lastFlush = DateTime.UtcNow;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A busy or briefly unavailable database must not stop key refreshes for good.
                    RefreshFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await listening.ContinueWith(static _ => { }, TaskScheduler.Default);

        // Stopping: note the last uses here, inside the service's own run, which the host awaits before it disposes anything.
        try
        {
            await directory.FlushLastUsedAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            LastUseNotRecorded(logger, e);
        }
    }

    private void Changed()
    {
        // One wake-up is enough however many notices arrive before the look.
        if (_changed.CurrentCount == 0)
        {
            try
            {
                _changed.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing API keys failed; keeping the keys loaded before")]
    private static partial void RefreshFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording the last use of API keys failed at shutdown")]
    private static partial void LastUseNotRecorded(ILogger logger, Exception e);
}
