using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Orchestration;

/// <summary>
/// Begins one turn: finds its session, sends the system prompt, stored history and the caller's messages to the
/// model, and hands back a <see cref="TurnScope"/> whose events are the model's updates the moment they arrive.
/// The surface ends the scope: committed once answered, abandoned otherwise.
/// </summary>
public sealed class Orchestrator(
    IChatClient model, TokenCounter tokens, SessionResolver sessions, TurnWriter writer, SessionActivity activity, KeywordTools keywordTools,
    IOptions<OrchestratorOptions> options, IOptions<StreamingOptions> streaming, ILogger<Orchestrator> logger)
{
    private readonly TurnServices _services = new(tokens, writer, activity, keywordTools, logger);

    /// <summary>The turn, its session found; the model is called when its events are first read.</summary>
    public async ValueTask<TurnScope> BeginAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        var turn = await sessions.ResolveAsync(new TurnOwner(request.OrganizationId, request.ApiKeyId, request.ConversationId, request.UserId), request.Messages);
        var input = BuildInput(request.Messages, turn.History);
        // Only a request that offers tools can hear a keyword call.
        IReadOnlyCollection<string> justUsed = request.Options.Tools is { Count: > 0 } ? KeywordTools.ToolsJustUsed(input) : Array.Empty<string>();
        var choices = new ChoiceResult[request.Choices];
        for (var i = 0; i < choices.Length; i++)
            choices[i] = new ChoiceResult();

        var events = choices.Length == 1
            ? GenerateAsync(0, request, input, request.Options, justUsed, choices[0], cancellationToken)
            : Merge([.. choices.Select((choice, i) => GenerateAsync(i, request, input, request.Options.Clone(), justUsed, choice, cancellationToken))], cancellationToken);
        if (request.Streaming && streaming.Value.BufferWords is { Length: > 0 } words)
            events = BufferWords.Before(events, words, TimeSpan.FromMilliseconds(streaming.Value.BufferAfterMs), () => choices[0].Preamble = words, cancellationToken);
        return new TurnScope(turn, input, choices, events, _services, cancellationToken);
    }

    private List<ChatMessage> BuildInput(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ChatMessage> history)
    {
        var input = new List<ChatMessage>(messages.Count + history.Count + 1);
        if (options.Value.SystemPrompt is { Length: > 0 } systemPrompt)
            input.Add(new ChatMessage(ChatRole.System, systemPrompt));
        var historyAdded = history.Count == 0;
        foreach (var message in messages)
        {
            // Stored history goes after the caller's instructions and before its conversation.
            if (!historyAdded && message.Role != ChatRole.System && message.Role != Roles.Developer)
            {
                input.AddRange(history);
                historyAdded = true;
            }
            input.Add(message);
        }
        if (!historyAdded)
            input.AddRange(history);
        return input;
    }

    private async IAsyncEnumerable<TurnEvent> GenerateAsync(
        int choice, TurnRequest request, List<ChatMessage> input, ChatOptions chatOptions, IReadOnlyCollection<string> justUsed,
        ChoiceResult result, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A caller that wants the whole answer gets the model's whole answer: one response, not a stream to reassemble.
        var updates = request.Streaming
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
        if (chatOptions.Tools is { Count: > 0 } tools
            && keywordTools.Detect(result.Reply, tools, [.. result.ToolCalls.Select(c => c.Name), .. justUsed]) is { } detected)
        {
            result.ToolCalls.Add(detected);
            yield return new ToolCallStarted(choice, result.ToolCalls.Count - 1, detected.Id, detected.Name, detected.Arguments);
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
