using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenAI.Chat;

namespace Junis.Server.Llm;

/// <summary>
/// Passes a model's tool calls on as the model wrote them. The OpenAI adapter gathers a streamed tool call and
/// hands it over whole at the end, with its arguments parsed; this reads the pieces from each raw update
/// instead (and, for a whole answer, the raw calls), so arguments reach the client byte for byte.
/// </summary>
public sealed class StreamedToolCalls(IChatClient inner) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, options, cancellationToken);
        if (response.RawRepresentation is ChatCompletion { ToolCalls.Count: > 0 } raw && response.Messages.Count > 0)
        {
            var reply = response.Messages[^1];
            reply.Contents = [
                .. reply.Contents.Where(c => c is not FunctionCallContent),
                .. raw.ToolCalls.Select((t, i) => new ToolCallFragment(i, t.Id, t.FunctionName, t.FunctionArguments?.ToString() ?? "")),
            ];
        }
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var streamed = false;
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            if (update.RawRepresentation is StreamingChatCompletionUpdate { ToolCallUpdates.Count: > 0 } raw)
            {
                streamed = true;
                update.Contents = [
                    .. update.Contents.Where(c => c is not FunctionCallContent),
                    .. raw.ToolCallUpdates.Select(t => new ToolCallFragment(t.Index, t.ToolCallId, t.FunctionName, t.FunctionArgumentsUpdate?.ToString() ?? "")),
                ];
            }
            else if (streamed && update.Contents.Any(c => c is FunctionCallContent))
            {
                update.Contents = [.. update.Contents.Where(c => c is not FunctionCallContent)];
            }
            yield return update;
        }
    }
}
