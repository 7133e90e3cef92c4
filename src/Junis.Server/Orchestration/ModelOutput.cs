using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>What one model call produced, gathered while its updates pass on as the turn's events.</summary>
internal class ModelOutput(StreamedCalls calls)
{
    public ModelOutput() : this(new StreamedCalls())
    {
    }

    public StringBuilder Text { get; } = new();
    public StringBuilder Refusal { get; } = new();
    public StreamedCalls Calls { get; } = calls;
    public ChatFinishReason? FinishReason { get; set; }

    /// <summary>The provider that answered, when it said (the last to, after a chain's fallback).</summary>
    public string? Provider { get; set; }

    /// <summary>When the first content came (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>); 0 before it has.</summary>
    public long FirstContentAt { get; set; }

    /// <summary>The usage the model reported, if it did.</summary>
    public UsageDetails? ModelUsage { get; set; }

    /// <summary>
    /// The model's answer as updates: streamed when the caller streams, else the model's whole answer in one response,
    /// not a stream to reassemble. Either way the model is called at the first pull, not before: a turn is registered
    /// (findable by its status, joinable by a retry) before its model is called.
    /// </summary>
    public static IAsyncEnumerable<ChatResponseUpdate> Call(
        IChatClient model, List<ChatMessage> input, ChatOptions options, bool streaming, CancellationToken cancellationToken) =>
        streaming ? model.GetStreamingResponseAsync(input, options, cancellationToken) : WholeAsync(model, input, options, cancellationToken);

    private static async IAsyncEnumerable<ChatResponseUpdate> WholeAsync(
        IChatClient model, List<ChatMessage> input, ChatOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var response = await model.GetResponseAsync(input, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
            yield return update;
    }

    private static bool HasCall(IList<AIContent> contents)
    {
        for (var i = 0; i < contents.Count; i++)
        {
            if (contents[i] is ToolCallFragment or FunctionCallContent)
                return true;
        }
        return false;
    }

    /// <summary>The model's updates as events, gathered into <paramref name="output"/> as they pass; then <paramref name="then"/>'s, if given.</summary>
    public static async IAsyncEnumerable<TurnEvent> GatherAsync(
        int choice, IAsyncEnumerable<ChatResponseUpdate> updates, ModelOutput output, [EnumeratorCancellation] CancellationToken cancellationToken,
        Func<IEnumerable<TurnEvent>>? then = null)
    {
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
                        output.ModelUsage = usage.Details;
                        break;
                    case AnswerMetadata metadata:
                        output.Provider = metadata.Provider ?? output.Provider;
                        yield return new AnswerInfo(metadata.RequestId, metadata.SystemFingerprint, metadata.ServiceTier, metadata.Provider)
                        {
                            OpensWithoutWords = metadata.OpensWithoutWords,
                        };
                        break;
                    case ReplyFields fields:
                        yield return new OtherReplyFields(choice, fields.Fields);
                        break;
                }
            }
            // The update's log probabilities go with its words, or with its refusal when it has no words.
            var refusalTokens = text is null && refusal is not null;
            if (output.FirstContentAt == 0 && (text is not null || refusal is not null || HasCall(contents)))
                output.FirstContentAt = System.Diagnostics.Stopwatch.GetTimestamp();
            if (refusal is not null)
            {
                output.Refusal.Append(refusal);
                yield return new RefusalDelta(choice, refusal, refusalTokens ? logprobs : null);
            }
            if (text is not null || (logprobs is not null && !refusalTokens))
            {
                output.Text.Append(text);
                yield return new TextDelta(choice, text ?? "", logprobs);
            }
            for (var i = 0; i < contents.Count; i++)
            {
                if (contents[i] is ToolCallFragment fragment && output.Calls.Add(choice, fragment) is { } piece)
                    yield return piece;
                else if (contents[i] is FunctionCallContent whole && output.Calls.AddWhole(choice, whole) is { } call)
                    yield return call;
            }
            if (update.FinishReason is { } reason)
                output.FinishReason = reason;
        }
        if (then is not null)
        {
            foreach (var e in then())
                yield return e;
        }
    }
}
