using Junis.Server.Errors;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Junis.Server.Hosting;

/// <summary>
/// The instance's shutdown, as requests see it: <see cref="IsDraining"/> from the moment the host is told to stop
/// (readiness fails, so a load balancer looks elsewhere), and <see cref="Cut"/> once the drain window has passed,
/// when a stream still open ends with an error event instead of being reset by the server's own abort.
/// </summary>
public sealed partial class Draining(IHostApplicationLifetime lifetime, IOptions<ShutdownOptions> options, TimeProvider clock, ILogger<Draining> logger)
    : IHostedService, IHealthCheck, IDisposable
{
    private readonly CancellationTokenSource _cut = new(Timeout.InfiniteTimeSpan, clock);
    private CancellationTokenRegistration _stopping;

    public bool IsDraining { get; private set; }

    /// <summary>Cancelled when the drain window has passed: what is still streaming is told to retry, then closed.</summary>
    public CancellationToken Cut => _cut.Token;

    /// <summary>What a request cut short by the shutdown is told: nothing is wrong with it, and another instance will take it.</summary>
    public static ErrorBody Error { get; } = new("The server is restarting; retry the request.",
        ErrorTypes.ForStatus(StatusCodes.Status503ServiceUnavailable), null, "server_shutting_down");

    /// <summary>Whether a failure is the cut at the end of the drain window rather than anything the caller or the model did.</summary>
    public bool WasCut(Exception e) => e is OperationCanceledException && _cut.IsCancellationRequested;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(Begin);
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

    public void Dispose()
    {
        _stopping.Dispose();
        _cut.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: open streams have {Seconds} s to finish")]
    private static partial void DrainingBegan(ILogger logger, double seconds);
}
