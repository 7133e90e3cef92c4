using System.Collections.Concurrent;
using Junis.Server.Errors;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Junis.Server.Hosting;

/// <summary>
/// The instance's shutdown, as requests see it: <see cref="IsDraining"/> from the moment the host is told to stop
/// (readiness fails, so a load balancer looks elsewhere), then, once the drain window has passed, every tracked
/// stream's token cancelled, so a stream still open ends with an error event instead of the server's own abort.
/// </summary>
public sealed partial class Draining(IHostApplicationLifetime lifetime, IOptions<ShutdownOptions> options, TimeProvider clock, ILogger<Draining> logger)
    : IHostedService, IHealthCheck, IDisposable
{
    private readonly CancellationTokenSource _cut = new(Timeout.InfiniteTimeSpan, clock);
    private readonly ConcurrentDictionary<TrackedResponse, byte> _open = new();
    private CancellationTokenRegistration _stopping, _cutting;

    public bool IsDraining { get; private set; }

    /// <summary>What a request cut short by the shutdown is told: nothing is wrong with it, and another instance will take it.</summary>
    public static ErrorBody Error { get; } = new("The server is restarting; retry the request.",
        ErrorTypes.ForStatus(StatusCodes.Status503ServiceUnavailable), null, "server_shutting_down");

    /// <summary>Streamed responses being sent.</summary>
    public int OpenStreams => _open.Count;

    /// <summary>Whether a failure is the cut at the end of the drain window rather than anything the caller or the model did.</summary>
    public bool WasCut(Exception e) => e is OperationCanceledException && _cut.IsCancellationRequested;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(Begin);
        _cutting = _cut.Token.Register(() =>
        {
            foreach (var stream in _open.Keys)
                stream.Cut();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(IsDraining ? HealthCheckResult.Unhealthy("The server is shutting down.") : HealthCheckResult.Healthy());

    private void Begin()
    {
        IsDraining = true;
        var window = TimeSpan.FromSeconds(options.Value.ShutdownSeconds);
        DrainingBegan(logger, window.TotalSeconds);
        _cut.CancelAfter(window);
    }

    /// <summary>
    /// A stream's own token, ending with its request or when the drain window has passed. Each stream has its own
    /// rather than all sharing one: registering every stream on one source cost the streams ~5 % of their
    /// CPU (bench/ANALYSIS.md, "Several instances, first steps").
    /// </summary>
    public TrackedResponse Track(CancellationToken requestAborted)
    {
        var stream = new TrackedResponse(this, requestAborted);
        _open.TryAdd(stream, 0);
        if (_cut.IsCancellationRequested)
            stream.Cut(); // tracked just as the window ended
        return stream;
    }

    /// <summary>One open stream's token, tracked until it is disposed.</summary>
    public sealed class TrackedResponse(Draining draining, CancellationToken requestAborted) : IDisposable
    {
        private readonly CancellationTokenSource _source = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);

        public CancellationToken Token => _source.Token;

        internal void Cut()
        {
            try
            {
                _source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // ended meanwhile
            }
        }

        public void Dispose()
        {
            draining._open.TryRemove(this, out _);
            _source.Dispose();
        }
    }

    public void Dispose()
    {
        _cutting.Dispose();
        _stopping.Dispose();
        _cut.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: open streams have {Seconds} s to finish")]
    private static partial void DrainingBegan(ILogger logger, double seconds);
}
