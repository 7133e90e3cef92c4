using System.Text;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// What one generation produced as the caller hears it, gathered while its events stream out: its model's output, or,
/// when agents answer, what the agents that speak to the caller said.
/// </summary>
internal sealed class ChoiceResult : ModelOutput
{
    /// <summary>Buffer words said before the model's first (see <see cref="BufferWords"/>).</summary>
    public string? Preamble { get; set; }

    public List<StoredToolCall> ToolCalls { get; } = [];
    public string? WireFinishReason { get; set; }

    /// <summary>Whether a call was made in the legacy form (<c>function_call</c>), and so is answered in it.</summary>
    public bool LegacyCalls { get; set; }

    /// <summary>The agent whose words the caller heard, when agents answered.</summary>
    public string? Agent { get; set; }

    /// <summary>Every model call of a turn of agents, for the session's record.</summary>
    public List<AgentStep>? AgentSteps { get; set; }

    /// <summary>Everything said in words, buffer words first.</summary>
    public string Reply => Preamble + Text.ToString();

    public bool HasOutput => Preamble is not null || Text.Length > 0 || Refusal.Length > 0 || ToolCalls.Count > 0;

    /// <summary>The steps so far: agents still running at once may add more (see <see cref="AgentRun"/>, which locks the list).</summary>
    private AgentStep[]? Steps()
    {
        if (AgentSteps is not { } steps)
            return null;
        lock (steps)
            return [.. steps];
    }

    /// <summary>The reply as the session keeps it: a refusal stays a refusal, a reply that only calls tools has no text.</summary>
    public TurnOutcome Outcome(TokenUsage usage, KeywordTools keywordTools)
    {
        var reply = Reply;
        return new TurnOutcome(
            new StoredMessage("assistant", reply.Length > 0 || (ToolCalls.Count == 0 && Refusal.Length == 0) ? reply : null,
                ToolCalls.Count > 0 ? ToolCalls : null)
            {
                Refusal = Refusal.Length > 0 ? Refusal.ToString() : null,
                Agent = Agent,
                Provider = Provider,
                AgentSteps = Steps(),
            },
            WireFinishReason, usage,
            EndsConversation: ToolCalls.Any(c => keywordTools.EndsConversation(c.Name)));
    }
}
