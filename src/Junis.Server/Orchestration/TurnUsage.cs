using Junis.Server.ChatCompletions;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>A turn's usage: as the model reported it, with its details; where it reported none, counted with the o200k tokenizer.</summary>
internal static class TurnUsage
{
    public static Usage Of(TokenCounter tokens, List<ChatMessage> input, ChoiceResult[] choices)
    {
        var reported = choices[0].ModelUsage;
        var prompt = reported?.InputTokenCount is long promptTokens
            ? (int)promptTokens
            : tokens.CountPrompt(input.Select(m => (m.Role.Value, (string?)m.Text)));
        var completion = 0;
        foreach (var choice in choices)
        {
            completion += choice.ModelUsage?.OutputTokenCount is long output
                ? (int)output
                : tokens.Count(choice.Text.ToString()) + tokens.Count(choice.Refusal.ToString())
                  + choice.ToolCalls.Sum(c => tokens.Count(c.Function.Name) + tokens.Count(c.Function.Arguments));
        }
        return new Usage(prompt, completion)
        {
            PromptTokensDetails = reported is { CachedInputTokenCount: not null } || Count(reported, "prompt_tokens_details.audio_tokens") is not null
                ? new PromptTokensDetails(reported!.CachedInputTokenCount, Count(reported, "prompt_tokens_details.audio_tokens"))
                : null,
            CompletionTokensDetails = CompletionDetails(choices),
        };
    }

    /// <summary>The details of every generation added up, when the model reported any.</summary>
    private static CompletionTokensDetails? CompletionDetails(ChoiceResult[] choices)
    {
        long? reasoning = null, audio = null, accepted = null, rejected = null;
        foreach (var usage in choices.Select(c => c.ModelUsage).OfType<UsageDetails>())
        {
            reasoning = Add(reasoning, usage.ReasoningTokenCount);
            audio = Add(audio, Count(usage, "completion_tokens_details.audio_tokens"));
            accepted = Add(accepted, Count(usage, "completion_tokens_details.accepted_prediction_tokens"));
            rejected = Add(rejected, Count(usage, "completion_tokens_details.rejected_prediction_tokens"));
        }
        return (reasoning ?? audio ?? accepted ?? rejected) is null ? null : new CompletionTokensDetails(reasoning, audio, accepted, rejected);
    }

    private static long? Count(UsageDetails? usage, string name) =>
        usage?.AdditionalCounts?.TryGetValue(name, out var count) == true ? count : null;

    private static long? Add(long? total, long? more) => more is null ? total : (total ?? 0) + more;
}
