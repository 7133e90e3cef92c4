using System.Diagnostics;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Junis.Server.Telemetry;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

// How a running turn is stored: once, by whichever of its listeners ends it first in a way that decides it.
internal sealed partial class RunningTurn
{
    /// <summary>Stores the turn as answered; the first commit writes it, any other awaits that write and gets the same usage.</summary>
    public async Task<UsageDetails> CommitAsync()
    {
        TaskCompletionSource<UsageDetails>? mine = null;
        Task<UsageDetails> stored;
        lock (_gate)
        {
            if (_stored is null)
            {
                if (!_completed)
                    throw new InvalidOperationException("A turn is committed once the model has finished.");
                mine = new TaskCompletionSource<UsageDetails>(TaskCreationOptions.RunContinuationsAsynchronously);
                _stored = mine.Task;
            }
            stored = _stored;
        }
        if (mine is null)
            return await stored;
        try
        {
            var usage = TurnUsage.Of(services.Tokens, input, choices);
            using (Committing())
            {
                await services.Writer.WriteAsync(turn, choices[0].Outcome(
                    new TokenUsage(Clamp(usage.InputTokenCount), Clamp(usage.OutputTokenCount)), services.KeywordTools));
            }
            Count(usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0, Answered);
            mine.SetResult(usage);
            return usage;
        }
        catch (Exception e)
        {
            mine.SetException(e);
            throw;
        }
        finally
        {
            await FinishAsync();
        }
    }

    /// <summary>
    /// A listener has ended without committing. When the model failed, the turn is stored now, with its input and no reply
    /// (or, when its answer was cut at the size limit, what was sent, marked interrupted);
    /// when this was the last listener, once the model has stopped, with whatever reply was generated, marked interrupted.
    /// Otherwise the others go on.
    /// </summary>
    public async Task AbandonAsync()
    {
        TaskCompletionSource<UsageDetails> mine;
        lock (_gate)
        {
            if (_stored is not null || (_failure is null && _listeners > 0))
                return;
            mine = new TaskCompletionSource<UsageDetails>(TaskCreationOptions.RunContinuationsAsynchronously);
            _stored = mine.Task;
        }
        try
        {
            // The model was stopped when the last listener left; what it was producing is settled before anything is read.
            await SettledAsync();
            var choice = choices[0];
            // An answer cut at its size limit keeps what the callers were sent, as an interruption does.
            var kept = _failure is null || _failure.SourceException is ModelCallException { AnswerCut: true };
            var outcome = kept && choice.HasOutput
                ? choice.Outcome(new TokenUsage(0, services.Tokens.Count(choice.Reply)), services.KeywordTools) with { Interrupted = true }
                : TurnOutcome.Failed;
            using (Committing())
                await services.Writer.WriteAsync(turn, outcome);
            Count(outcome.Usage?.Prompt ?? 0, outcome.Usage?.Completion ?? 0, _failure is not null ? Failed : Interrupted);
        }
        catch (Exception e)
        {
            NotStored(services.Logger, e, turn.SessionId);
        }
        finally
        {
            // Only a listener that had gone by its token yet still committed can be waiting for this.
            mine.SetResult(new UsageDetails());
            await FinishAsync();
        }
    }

    /// <summary>Returns once no pull from the model is in flight.</summary>
    private async Task SettledAsync()
    {
        TaskCompletionSource? wait;
        lock (_gate)
            wait = _pulling ? _pulled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null;
        if (wait is not null)
            await wait.Task;
    }

    private async ValueTask FinishAsync()
    {
        try
        {
            // No pull is in flight: the turn has ended, or was stopped and has settled.
            await _source.DisposeAsync();
        }
        catch (Exception e)
        {
            NotClosed(services.Logger, e, turn.SessionId);
        }
        registry.Remove(key, this);
        services.Activity.End(turn.SessionId, turn.OrganizationId);
        span?.Dispose();
        Dispose();
    }

    public void Dispose() => _generation.Dispose();

    private const string Answered = "answered", Interrupted = "interrupted", Failed = "failed";

    /// <summary>The turn's write, as its span's child.</summary>
    private Activity? Committing() => ServerTelemetry.Source.StartActivity("commit", ActivityKind.Internal, span?.Context ?? default);

    /// <summary>The turn, for the usage ledger, the metrics and its span: once, when stored.</summary>
    private void Count(long prompt, long completion, string outcome)
    {
        var failed = outcome == Failed;
        var firstContent = choices[0].FirstContentAt;
        TimeSpan? firstToken = firstContent == 0 ? null : Stopwatch.GetElapsedTime(begunAt, firstContent);
        services.Usage.Record(turn.OrganizationId, turn.ApiKeyId, choices[0].Agent, prompt, completion, failed, (int?)firstToken?.TotalMilliseconds);

        var metrics = services.Metrics;
        metrics.CommittedTurns.Add(1, new KeyValuePair<string, object?>(ServerTelemetry.Attributes.Outcome, outcome));
        if (firstToken is { } untilFirst && !failed)
        {
            metrics.TimeToFirstToken.Record(untilFirst.TotalSeconds);
            if (completion > 1 && _modelEndedAt > firstContent)
                metrics.TimePerOutputToken.Record(Stopwatch.GetElapsedTime(firstContent, _modelEndedAt).TotalSeconds / (completion - 1));
        }
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(ServerTelemetry.Attributes.Outcome, outcome)
                .SetTag("gen_ai.usage.input_tokens", prompt)
                .SetTag("gen_ai.usage.output_tokens", completion)
                .SetTag("gen_ai.response.finish_reasons", choices.Select(c => c.WireFinishReason).OfType<string>().ToArray());
            if (failed)
                span.SetStatus(ActivityStatusCode.Error, _failure?.SourceException.GetType().Name);
        }
    }

    /// <summary>A message's count, as its column holds it.</summary>
    private static int Clamp(long? tokens) => (int)Math.Min(tokens ?? 0, int.MaxValue);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing the unfinished turn of session {SessionId} failed")]
    private static partial void NotStored(ILogger logger, Exception e, Guid sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the model's answer for session {SessionId} failed")]
    private static partial void NotClosed(ILogger logger, Exception e, Guid sessionId);
}
