using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;

namespace Junis.Server.Llm;

/// <summary>
/// One circuit breaker per provider, shared by every chain that calls it: after <see cref="LlmOptions.BreakAfterFailures"/>
/// failures and no success, the provider is skipped for <see cref="LlmOptions.BreakSeconds"/>, then one call is let
/// through to try it, so a dead provider costs a chain nothing per request. Polly's circuit breaker.
/// </summary>
internal sealed class ProviderBreakers(IOptionsMonitor<LlmOptions> options)
{
    private readonly ConcurrentDictionary<string, ResiliencePipeline> _breakers = new(StringComparer.Ordinal);

    public ResiliencePipeline For(string provider) => _breakers.GetOrAdd(provider, Create, options);

    private static ResiliencePipeline Create(string provider, IOptionsMonitor<LlmOptions> options)
    {
        var llm = options.Get(provider == ModelProviders.Default ? Options.DefaultName : provider);
        var pause = TimeSpan.FromSeconds(llm.BreakSeconds);
        return new ResiliencePipelineBuilder().AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            // Every call in the window failed, and enough of them: failures in a row, as Polly counts them.
            FailureRatio = 1.0,
            MinimumThroughput = llm.BreakAfterFailures,
            SamplingDuration = pause > TimeSpan.FromSeconds(30) ? pause : TimeSpan.FromSeconds(30),
            BreakDuration = pause,
            // The provider's failures, not the caller's: a request it refuses (400) or a call the caller cancels.
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is { } e
                && e is not OperationCanceledException && e is not ModelCallException { Status: 400 }),
        }).Build();
    }
}
