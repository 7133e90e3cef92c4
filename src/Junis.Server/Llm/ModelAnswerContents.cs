using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// What an OpenAI-compatible model answered, as the contents the orchestrator takes: text, refusal, log probabilities,
/// tool-call pieces, usage with its details, the answer's metadata, and the reply's other fields as written.
/// </summary>
internal static class ModelAnswerContents
{
    /// <summary>What one stream has shown so far.</summary>
    public sealed class StreamState
    {
        /// <summary>Whether a choice has said why it finished: a stream that closes after that is complete even without <c>[DONE]</c>.</summary>
        public bool Finished { get; set; }

        /// <summary>For servers that leave out a tool call's <c>index</c>: each new call id starts the next call.</summary>
        public int ImplicitToolIndex { get; set; } = -1;

        public string? RequestId { get; init; }

        /// <summary>The name of the provider answering.</summary>
        public string? Provider { get; init; }

        /// <summary>Whether the answer's metadata has gone out, with the stream's first chunk.</summary>
        public bool MetadataSent { get; set; }
    }

    public static ChatResponse ToResponse(ModelAnswer answer, string? requestId, string? provider)
    {
        if (answer.Error is { } error)
            throw new ModelCallException(502, "The model provider failed.") { Detail = error.Message };
        var choice = answer.Choices is { Count: > 0 } choices ? choices[0] : throw new JsonException("The answer has no choices.");
        var contents = new List<AIContent>();
        if ((requestId ?? answer.SystemFingerprint ?? answer.ServiceTier ?? provider) is not null)
            contents.Add(new AnswerMetadata(requestId, answer.SystemFingerprint, answer.ServiceTier) { Provider = provider });
        if (choice.Message is { } reply)
            AddReply(contents, reply, choice.Logprobs, state: null);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            FinishReason = FinishReason(choice.FinishReason),
            Usage = answer.Usage is { } usage ? Usage(usage) : null,
        };
    }

    public static ChatResponseUpdate? ToUpdate(ModelAnswer chunk, StreamState state)
    {
        if (chunk.Error is { } error)
            throw new ModelCallException(502, "The model provider failed mid-answer.") { Detail = error.Message };

        List<AIContent>? contents = null;
        // The first chunk, a role chunk alone included, says the model has begun its answer: its metadata goes out at
        // once, and with it the caller's headers, however long the model then thinks.
        if (!state.MetadataSent)
        {
            contents = [new AnswerMetadata(state.RequestId, chunk.SystemFingerprint, chunk.ServiceTier)
            {
                Provider = state.Provider,
                OpensWithoutWords = chunk.Choices is [{ Delta: { Content: null } opening }, ..]
                    && (opening.Refusal is not null || opening.ToolCalls is not null || opening.FunctionCall is not null),
            }];
            state.MetadataSent = true;
        }
        ChatFinishReason? finish = null;
        foreach (var choice in chunk.Choices ?? [])
        {
            if (choice.Delta is { } delta)
                AddReply(contents ??= [], delta, choice.Logprobs, state);
            else if (choice.Logprobs is { } logprobs)
                (contents ??= []).Add(new LogprobsContent(logprobs));
            finish ??= FinishReason(choice.FinishReason);
        }
        state.Finished |= finish is not null;
        if (chunk.Usage is { } usage)
            (contents ??= []).Add(new UsageContent(Usage(usage)));

        if (contents is not { Count: > 0 } && finish is null)
            return null;
        return new ChatResponseUpdate { Role = ChatRole.Assistant, Contents = contents ?? [], FinishReason = finish };
    }

    /// <summary>A reply, whole or a streamed delta of one, as contents: text, refusal, log probabilities, tool calls, other fields.</summary>
    private static void AddReply(List<AIContent> contents, ModelReply reply, JsonElement? logprobs, StreamState? state)
    {
        if (reply.Content is { Length: > 0 } text)
            contents.Add(new TextContent(text));
        if (reply.Refusal is { Length: > 0 } refusal)
            contents.Add(new RefusalContent(refusal));
        if (logprobs is { } tokens)
            contents.Add(new LogprobsContent(tokens));
        // Only when there are any: "?? []" would allocate an empty list for every chunk of text.
        if (reply.ToolCalls is { } calls)
        {
            for (var i = 0; i < calls.Count; i++)
            {
                var call = calls[i];
                int index;
                if (state is null)
                {
                    index = i;
                }
                else
                {
                    if (call.Index is null && call.Id is not null)
                        state.ImplicitToolIndex++;
                    index = call.Index ?? Math.Max(state.ImplicitToolIndex, 0);
                }
                contents.Add(new ToolCallFragment(index, call.Id, call.Function?.Name, call.Function?.Arguments ?? ""));
            }
        }
        if (reply.FunctionCall is { } legacy)
            contents.Add(new ToolCallFragment(0, null, legacy.Name, legacy.Arguments ?? "") { Legacy = true });
        if (reply.OtherFields is { } other)
            contents.Add(new ReplyFields(other));
    }

    private static UsageDetails Usage(ModelUsage usage)
    {
        var details = new UsageDetails
        {
            InputTokenCount = usage.PromptTokens,
            OutputTokenCount = usage.CompletionTokens,
            TotalTokenCount = usage.PromptTokens + usage.CompletionTokens,
        };
        foreach (var (name, count) in usage.Details ?? [])
        {
            switch (name)
            {
                case "prompt_tokens_details.cached_tokens": details.CachedInputTokenCount = count; break;
                case "completion_tokens_details.reasoning_tokens": details.ReasoningTokenCount = count; break;
                default: (details.AdditionalCounts ??= [])[name] = count; break;
            }
        }
        return details;
    }

    private static ChatFinishReason? FinishReason(string? reason) => reason switch
    {
        null => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };
}
