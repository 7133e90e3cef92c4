using System.Diagnostics;
using System.Runtime.CompilerServices;
using Junis.Server.Telemetry;
using Microsoft.Extensions.AI;
using Polly;
using Polly.Hedging;

namespace Junis.Server.Llm;

/// <summary>
/// A provider and its fallbacks (<see cref="LlmOptions.Fallbacks"/>) as one model. The next provider is called when
/// the current one fails before its first words; with <see cref="LlmOptions.FirstTokenMs"/>, a stream's next provider
/// also starts when the current one has said nothing by then, and whichever speaks first answers while the other's
/// call is cancelled (its connection closed). A provider that keeps failing is skipped by its breaker
/// (<see cref="ProviderBreakers"/>). Built on Polly's hedging strategy, which runs, times and cancels the attempts.
/// </summary>
/// <remarks>
/// The answer's metadata goes on at once, as the first provider to begin its answer gives it, so a stream's headers
/// are not held back by the chain. It names that provider unless another may still overtake it (a hedging chain);
/// the provider that spoke first then names itself with its words, and the session records it.
/// </remarks>
internal sealed partial class ModelChain : IChatClient
{
    private static readonly ResiliencePropertyKey<ChainCall> CallKey = new("junis.chain-call");

    private readonly IReadOnlyList<ChainMember> _members;
    private readonly bool _hedges;
    private readonly ResiliencePipeline<StartedAnswer> _streams;
    private readonly ResiliencePipeline<ChatResponse> _wholes;
    private readonly ILogger _logger;
    private readonly ServerMetrics _metrics;

    /// <param name="members">The provider first, then its fallbacks in order.</param>
    /// <param name="firstToken">For streams: how long the current provider may stay silent before the next starts too; null: only on failure.</param>
    /// <param name="logger">Where each provider's failure and each call down the chain is told.</param>
    /// <param name="metrics">Where each call down the chain is counted.</param>
    public ModelChain(IReadOnlyList<ChainMember> members, TimeSpan? firstToken, ILogger logger, ServerMetrics metrics)
    {
        (_members, _logger, _metrics, _hedges) = (members, logger, metrics, firstToken is not null);
        _streams = Pipeline(firstToken, StreamedAttempt);
        _wholes = Pipeline(null, WholeAttempt);
    }

    /// <summary>Calls the chain's provider number <c>attempt</c>.</summary>
    private delegate ValueTask<Outcome<T>> Attempt<T>(ChainCall call, int attempt, CancellationToken cancellationToken);

    private static readonly Attempt<StartedAnswer> StreamedAttempt = static (call, attempt, token) => call.StreamAttemptAsync(attempt, token);
    private static readonly Attempt<ChatResponse> WholeAttempt = static (call, attempt, token) => call.WholeAttemptAsync(attempt, token);

    private ResiliencePipeline<T> Pipeline<T>(TimeSpan? delay, Attempt<T> attempt) =>
        new ResiliencePipelineBuilder<T>().AddHedging(new HedgingStrategyOptions<T>
        {
            MaxHedgedAttempts = _members.Count - 1,
            // Infinite: the next provider is called only when the current one has failed.
            Delay = delay ?? Timeout.InfiniteTimeSpan,
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsProviderFailure(e)),
            ActionGenerator = args =>
            {
                var call = args.PrimaryContext.Properties.GetValue(CallKey, null!);
                var number = args.AttemptNumber;
                var token = args.ActionContext.CancellationToken;
                return () => attempt(call, number, token);
            },
            OnHedging = args =>
            {
                NextProvider(_logger, _members[args.AttemptNumber].Name);
                _metrics.Fallbacks.Add(1, new KeyValuePair<string, object?>(ServerTelemetry.Attributes.Provider, _members[args.AttemptNumber].Name));
                return ValueTask.CompletedTask;
            },
        }).Build();

    /// <summary>A failure another provider may not have: anything but the caller's own request refused (400) or cancelled.</summary>
    private static bool IsProviderFailure(Exception e) => e switch
    {
        ModelCallException { Status: 400 } => false,
        OperationCanceledException => false,
        _ => true,
    };

    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync(_wholes, new ChainCall(this, messages as IList<ChatMessage> ?? [.. messages], options, cancellationToken), WholeAttempt);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = new ChainCall(this, messages as IList<ChatMessage> ?? [.. messages], options, cancellationToken);
        var starting = RunAsync(_streams, call, StreamedAttempt);
        StartedAnswer? answer = null;
        try
        {
            // The first provider to begin its answer says so at once: the caller's headers need not wait for the chain.
            string? named = null;
            if (await Task.WhenAny(starting, call.Begun.Task) != starting)
            {
                var metadata = await call.Begun.Task;
                named = metadata.Provider;
                yield return new ChatResponseUpdate(ChatRole.Assistant, [metadata]);
            }

            answer = await starting;
            foreach (var update in answer.Said)
                yield return named == answer.Provider ? WithoutMetadata(update) : update;
            while (await answer.Rest.MoveNextAsync())
                yield return answer.Rest.Current;
        }
        finally
        {
            if (answer is not null)
                await answer.DisposeAsync();
            else
                // Left before the chain had chosen (the caller gone): the answer it chooses is closed when it comes.
                _ = starting.ContinueWith(static started => started.Result.DisposeAsync(), CancellationToken.None,
                    TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
    }

    /// <summary>What the first attempt to succeed gave, or the failure the caller is told.</summary>
    private static async Task<T> RunAsync<T>(ResiliencePipeline<T> pipeline, ChainCall call, Attempt<T> attempt)
    {
        var context = call.Context();
        try
        {
            var outcome = await pipeline.ExecuteOutcomeAsync(
                static (context, state) => state.attempt(state.call, 0, context.CancellationToken), context, (call, attempt));
            outcome.ThrowIfException();
            return outcome.Result!;
        }
        catch (Exception e) when (call.Failure(e) is { } failure)
        {
            throw failure;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The update without the metadata already passed on.</summary>
    private static ChatResponseUpdate WithoutMetadata(ChatResponseUpdate update)
    {
        if (!update.Contents.Any(c => c is AnswerMetadata))
            return update;
        var copy = update.Clone();
        copy.Contents = [.. update.Contents.Where(c => c is not AnswerMetadata)];
        return copy;
    }

    /// <summary>Whether the update says something: words, a refusal, a tool call, other reply fields, or the answer's end.</summary>
    private static bool Speaks(ChatResponseUpdate update)
    {
        if (update.FinishReason is not null)
            return true;
        foreach (var content in update.Contents)
        {
            if (content is TextContent { Text.Length: > 0 } or RefusalContent or ToolCallFragment or FunctionCallContent or ReplyFields)
                return true;
        }
        return false;
    }

    /// <summary>A span for a call down the chain, the provider's own call within it; none for the first provider's.</summary>
    private static Activity? FallbackSpan(ChainMember member, int attempt) =>
        attempt == 0 ? null : ServerTelemetry.Source.StartActivity("fallback " + member.Name)?
            .SetTag(ServerTelemetry.Attributes.Provider, member.Name).SetTag("junis.fallback.attempt", attempt);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model provider {Provider} failed before its first words: {Reason}")]
    private static partial void ProviderFailed(ILogger logger, string provider, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model provider {Provider} skipped: it has failed too often of late")]
    private static partial void Skipped(ILogger logger, string provider);

    [LoggerMessage(Level = LogLevel.Information, Message = "Calling model provider {Provider} in the chain")]
    private static partial void NextProvider(ILogger logger, string provider);
}

/// <summary>A provider of a chain: its name, its model, and its breaker.</summary>
internal sealed record ChainMember(string Name, IChatClient Model, ResiliencePipeline Breaker);
