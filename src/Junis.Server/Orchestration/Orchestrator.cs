using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Junis.Server.ChatCompletions;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Orchestration;

/// <summary>
/// Runs one turn: the system prompt, stored history and request go to the model; its updates come back as
/// <see cref="TurnEvent"/>s the moment they arrive; the turn is stored, then it ends with its usage. A turn
/// that fails stores its input; one the caller abandons stores what was generated, marked interrupted.
/// </summary>
public sealed class Orchestrator(
    IChatClient model, TokenCounter tokens, TurnWriter writer, SessionActivity activity, KeywordTools keywordTools,
    IOptions<OrchestratorOptions> options, IOptions<StreamingOptions> streaming, ILogger<Orchestrator> logger)
{
    public async IAsyncEnumerable<TurnEvent> RunAsync(
        ChatCompletionRequest request, Turn turn, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var input = BuildInput(request, turn.History);
        var chatOptions = ModelInput.ToChatOptions(request);
        // Only a request that offers tools can hear a keyword call.
        IReadOnlyCollection<string> justUsed = request.Tools is { Count: > 0 } ? KeywordTools.ToolsJustUsed(input) : Array.Empty<string>();
        var choices = new ChoiceResult[request.N ?? 1];
        for (var i = 0; i < choices.Length; i++)
            choices[i] = new ChoiceResult();

        var events = choices.Length == 1
            ? GenerateAsync(0, request, input, chatOptions, justUsed, choices[0], cancellationToken)
            : Merge([.. choices.Select((choice, i) => GenerateAsync(i, request, input, chatOptions.Clone(), justUsed, choice, cancellationToken))], cancellationToken);
        var bufferWords = request.IsStreaming ? streaming.Value.BufferWords : null;

        activity.Begin(turn.SessionId, turn.OrganizationId);
        var stored = false;
        try
        {
            await using var updates = events.GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                var next = updates.MoveNextAsync();
                if (bufferWords is { Length: > 0 })
                {
                    // A slow model: say something while it thinks, once, as the reply's first words.
                    var first = next.AsTask();
                    next = new ValueTask<bool>(first);
                    if (await Task.WhenAny(first, Task.Delay(streaming.Value.BufferAfterMs, cancellationToken)) != first)
                    {
                        choices[0].Text.Append(bufferWords);
                        yield return new TextDelta(0, bufferWords);
                    }
                    bufferWords = null;
                }

                ExceptionDispatchInfo? failure = null;
                var more = false;
                try
                {
                    more = await next;
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
                if (failure is not null)
                {
                    stored = true;
                    await StoreAbandonedAsync(turn, choices[0], interrupted: failure.SourceException is OperationCanceledException && cancellationToken.IsCancellationRequested);
                    failure.Throw();
                }
                if (!more)
                    break;
                yield return updates.Current;
            }

            var usage = TurnUsage.Of(tokens, input, choices);
            stored = true;
            await writer.WriteAsync(turn, choices[0].Outcome(usage, keywordTools));
            yield return new TurnFinished(usage);
        }
        finally
        {
            // The caller stopped reading before the turn ended: keep what it was sent.
            if (!stored)
                await StoreAbandonedAsync(turn, choices[0], interrupted: true);
            activity.End(turn.SessionId);
        }
    }

    /// <summary>Stores a turn that did not finish: its input, and whatever reply was generated before it stopped.</summary>
    private async Task StoreAbandonedAsync(Turn turn, ChoiceResult choice, bool interrupted)
    {
        try
        {
            await writer.WriteAsync(turn, interrupted && choice.HasOutput
                ? choice.Outcome(new Usage(0, tokens.Count(choice.Text.ToString())), keywordTools) with { Interrupted = true }
                : TurnOutcome.Failed);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Storing the unfinished turn of session {SessionId} failed", turn.SessionId);
        }
    }

    private List<ChatMessage> BuildInput(ChatCompletionRequest request, IReadOnlyList<ChatMessage> history)
    {
        var input = new List<ChatMessage>(request.Messages!.Count + history.Count + 1);
        if (options.Value.SystemPrompt is { Length: > 0 } systemPrompt)
            input.Add(new ChatMessage(ChatRole.System, systemPrompt));
        var historyAdded = history.Count == 0;
        foreach (var message in request.Messages)
        {
            // Stored history goes after the caller's instructions and before its conversation.
            if (!historyAdded && message!.Role is not ("system" or "developer"))
            {
                input.AddRange(history);
                historyAdded = true;
            }
            input.Add(ModelInput.ToModelMessage(message!));
        }
        if (!historyAdded)
            input.AddRange(history);
        return input;
    }

    private async IAsyncEnumerable<TurnEvent> GenerateAsync(
        int choice, ChatCompletionRequest request, List<ChatMessage> input, ChatOptions chatOptions, IReadOnlyCollection<string> justUsed,
        ChoiceResult result, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A caller that wants the whole answer gets the model's whole answer: one response, not a stream to reassemble.
        var updates = request.IsStreaming
            ? model.GetStreamingResponseAsync(input, chatOptions, cancellationToken)
            : WholeAsync(model.GetResponseAsync(input, chatOptions, cancellationToken));
        await foreach (var update in updates.WithCancellation(cancellationToken))
        {
            // By index: enumerating the contents through their interface would allocate for every update of a stream.
            // Words first, with their log probabilities in the same event, then the update's tool-call pieces.
            var contents = update.Contents;
            string? text = null, refusal = null;
            JsonElement? logprobs = null;
            for (var i = 0; i < contents.Count; i++)
            {
                switch (contents[i])
                {
                    case TextContent { Text.Length: > 0 } words:
                        text = text is null ? words.Text : text + words.Text;
                        break;
                    case RefusalContent refused:
                        refusal += refused.Text;
                        break;
                    case LogprobsContent tokens:
                        logprobs = logprobs is { } earlier ? LogprobsContent.Concat(earlier, tokens.Logprobs) : tokens.Logprobs;
                        break;
                    case UsageContent usage:
                        result.ModelUsage = usage.Details;
                        break;
                    case AnswerMetadata metadata:
                        yield return new AnswerInfo(metadata.RequestId, metadata.SystemFingerprint, metadata.ServiceTier);
                        break;
                    case ReplyFields fields:
                        yield return new OtherReplyFields(choice, fields.Fields);
                        break;
                }
            }
            // The update's log probabilities go with its words, or with its refusal when it has no words.
            var refusalTokens = text is null && refusal is not null;
            if (refusal is not null)
            {
                result.Refusal.Append(refusal);
                yield return new RefusalDelta(choice, refusal, refusalTokens ? logprobs : null);
            }
            if (text is not null || (logprobs is not null && !refusalTokens))
            {
                result.Text.Append(text);
                yield return new TextDelta(choice, text ?? "", logprobs);
            }
            for (var i = 0; i < contents.Count; i++)
            {
                if (contents[i] is ToolCallFragment fragment && result.Calls.Add(choice, fragment) is { } piece)
                    yield return piece;
                else if (contents[i] is FunctionCallContent whole)
                    yield return result.Calls.AddWhole(choice, whole);
            }
            if (update.FinishReason is { } reason)
                result.FinishReason = reason;
        }

        result.ToolCalls.AddRange(result.Calls.Complete());
        // What the assistant said may itself be a tool call: a farewell ends the call, a transfer transfers it. Not a
        // tool the model calls now, or one the conversation has just used: a client's tool loop would hear it again.
        if (request.Tools is { Count: > 0 }
            && keywordTools.Detect(result.Text.ToString(), request.Tools, [.. result.ToolCalls.Select(c => c.Function.Name), .. justUsed]) is { } detected)
        {
            result.ToolCalls.Add(detected);
            yield return new ToolCallStarted(choice, result.ToolCalls.Count - 1, detected.Id, detected.Function.Name, detected.Function.Arguments);
        }
        result.WireFinishReason = FinishReasons.ToWire(result.FinishReason, result.ToolCalls.Count > 0, result.Calls.AnyLegacy);
        yield return new ChoiceFinished(choice, result.WireFinishReason);
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> WholeAsync(Task<ChatResponse> response)
    {
        foreach (var update in (await response).ToChatResponseUpdates())
            yield return update;
    }

    /// <summary>Interleaves n generations as their events arrive; the first failure cancels the others.</summary>
    private static async IAsyncEnumerable<TurnEvent> Merge(
        IReadOnlyList<IAsyncEnumerable<TurnEvent>> generations, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pumps = generations.Select(async generation =>
        {
            try
            {
                await foreach (var e in generation.WithCancellation(stop.Token))
                    await channel.Writer.WriteAsync(e, stop.Token);
            }
            catch
            {
                await stop.CancelAsync();
                throw;
            }
        }).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(
            all => channel.Writer.TryComplete(all.Exception?.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) ?? all.Exception?.InnerException),
            TaskScheduler.Default);
        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken))
                yield return e;
        }
        finally
        {
            await stop.CancelAsync();
        }
    }
}
