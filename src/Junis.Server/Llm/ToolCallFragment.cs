using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// A piece of a tool call as the model streams it: the first piece of a call names it, later ones carry
/// more of its arguments. Passed on as they come, so a client sees a tool call build up as it would from OpenAI.
/// </summary>
public sealed class ToolCallFragment(int index, string? callId, string? name, string arguments) : AIContent
{
    public int Index { get; } = index;
    public string? CallId { get; } = callId;
    public string? Name { get; } = name;
    public string Arguments { get; } = arguments;

    /// <summary>The model made the call in the legacy form (<c>function_call</c>, answering <c>functions</c>), and the caller gets it so.</summary>
    public bool Legacy { get; init; }
}
