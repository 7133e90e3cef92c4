using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// A piece of a tool call as the model streams it: the first piece of a call names it, later ones carry
/// more of its arguments. Passed on as they come, so a client sees a tool call build up as it would from OpenAI.
/// </summary>
/// <remarks>
/// The contract any <see cref="IChatClient"/> behind the orchestrator honours, so that callers get what the model said:
/// <list type="bullet">
/// <item>Tool calls stream as these fragments: every piece of one call carries the same <see cref="Index"/>, unique
/// within the response; the first that carries <see cref="Name"/> (and <see cref="CallId"/>, when the model gave one)
/// announces the call, and every piece's <see cref="Arguments"/> is the next run of the arguments' text, exactly as
/// the model wrote it (the concatenation is sent back byte for byte, "" included). A whole
/// <see cref="FunctionCallContent"/> is taken too, but its arguments are then re-serialized.</item>
/// <item>Words are <see cref="TextContent"/>, a refusal <see cref="RefusalContent"/>, log probabilities
/// <see cref="LogprobsContent"/>, usage <see cref="UsageContent"/> (details under OpenAI's names in
/// <see cref="UsageDetails.AdditionalCounts"/>), other reply fields <see cref="ReplyFields"/>, the answer's metadata
/// <see cref="AnswerMetadata"/>; the finish reason is on the update.</item>
/// <item>A failed call throws <see cref="ModelCallException"/> with the status the caller should get; a cancelled
/// one throws <see cref="OperationCanceledException"/>.</item>
/// </list>
/// </remarks>
public sealed class ToolCallFragment(int index, string? callId, string? name, string arguments) : AIContent
{
    public int Index { get; } = index;
    public string? CallId { get; } = callId;
    public string? Name { get; } = name;
    public string Arguments { get; } = arguments;

    /// <summary>The model made the call in the legacy form (<c>function_call</c>, answering <c>functions</c>), and the caller gets it so.</summary>
    public bool Legacy { get; init; }
}
