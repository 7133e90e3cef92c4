using System.Text;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>What one generation produced, gathered while its events stream out.</summary>
internal sealed class ChoiceResult
{
    /// <summary>Buffer words said before the model's first (see <see cref="BufferWords"/>).</summary>
    public string? Preamble { get; set; }

    public StringBuilder Text { get; } = new();
    public StringBuilder Refusal { get; } = new();
    public StreamedCalls Calls { get; } = new();
    public List<StoredToolCall> ToolCalls { get; } = [];
    public ChatFinishReason? FinishReason { get; set; }
    public string? WireFinishReason { get; set; }
    public UsageDetails? ModelUsage { get; set; }

    /// <summary>Everything said in words, buffer words first.</summary>
    public string Reply => Preamble + Text.ToString();

    public bool HasOutput => Preamble is not null || Text.Length > 0 || Refusal.Length > 0 || ToolCalls.Count > 0;

    /// <summary>The reply as the session keeps it: a refusal stays a refusal, a reply that only calls tools has no text.</summary>
    public TurnOutcome Outcome(TokenUsage usage, KeywordTools keywordTools)
    {
        var reply = Reply;
        return new TurnOutcome(
            new StoredMessage("assistant", reply.Length > 0 || (ToolCalls.Count == 0 && Refusal.Length == 0) ? reply : null,
                ToolCalls.Count > 0 ? ToolCalls : null)
            {
                Refusal = Refusal.Length > 0 ? Refusal.ToString() : null,
            },
            WireFinishReason, usage,
            EndsConversation: ToolCalls.Any(c => keywordTools.EndsConversation(c.Name)));
    }
}
