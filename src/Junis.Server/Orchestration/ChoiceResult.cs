using System.Text;
using Junis.Server.ChatCompletions;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>What one generation produced, gathered while its events stream out.</summary>
internal sealed class ChoiceResult
{
    public StringBuilder Text { get; } = new();
    public StringBuilder Refusal { get; } = new();
    public StreamedCalls Calls { get; } = new();
    public List<ToolCall> ToolCalls { get; } = [];
    public ChatFinishReason? FinishReason { get; set; }
    public string? WireFinishReason { get; set; }
    public UsageDetails? ModelUsage { get; set; }

    public bool HasOutput => Text.Length > 0 || Refusal.Length > 0 || ToolCalls.Count > 0;

    /// <summary>The reply as the session keeps it: a refusal stays a refusal, a reply that only calls tools has no text.</summary>
    public TurnOutcome Outcome(Usage usage, KeywordTools keywordTools) => new(
        new StoredMessage("assistant", Text.Length > 0 || (ToolCalls.Count == 0 && Refusal.Length == 0) ? Text.ToString() : null,
            ToolCalls.Count > 0 ? ToolCalls : null)
        {
            Refusal = Refusal.Length > 0 ? Refusal.ToString() : null,
        },
        WireFinishReason, usage,
        EndsConversation: ToolCalls.Any(c => keywordTools.EndsConversation(c.Function.Name)));
}
