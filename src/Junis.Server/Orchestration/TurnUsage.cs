using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// A turn's usage: as the model reported it, with its details (the prompt's from the first generation, the
/// completion's added up over all); where it reported none, counted with the o200k tokenizer.
/// </summary>
public static class TurnUsage
{
    /// <summary>Keys of <see cref="UsageDetails.AdditionalCounts"/> for details Microsoft.Extensions.AI has no property for.</summary>
    public const string PromptAudio = "prompt_tokens_details.audio_tokens", CompletionAudio = "completion_tokens_details.audio_tokens",
        AcceptedPrediction = "completion_tokens_details.accepted_prediction_tokens", RejectedPrediction = "completion_tokens_details.rejected_prediction_tokens";

    internal static UsageDetails Of(TokenCounter tokens, List<ChatMessage> input, ChoiceResult[] choices)
    {
        var reported = choices[0].ModelUsage;
        var prompt = reported?.InputTokenCount is long promptTokens
            ? promptTokens
            : tokens.CountPrompt(input.Select(m => (m.Role.Value, (string?)m.Text)));
        var completion = 0L;
        foreach (var choice in choices)
        {
            completion += choice.ModelUsage?.OutputTokenCount is long output
                ? output
                : tokens.Count(choice.Reply) + tokens.Count(choice.Refusal.ToString())
                  + choice.ToolCalls.Sum(c => tokens.Count(c.Name) + tokens.Count(c.Arguments));
        }

        var usage = new UsageDetails
        {
            InputTokenCount = prompt,
            OutputTokenCount = completion,
            TotalTokenCount = prompt + completion,
            CachedInputTokenCount = reported?.CachedInputTokenCount,
        };
        Set(usage, PromptAudio, Count(reported, PromptAudio));
        foreach (var details in choices.Select(c => c.ModelUsage).OfType<UsageDetails>())
        {
            usage.ReasoningTokenCount = Add(usage.ReasoningTokenCount, details.ReasoningTokenCount);
            foreach (var name in (ReadOnlySpan<string>)[CompletionAudio, AcceptedPrediction, RejectedPrediction])
                Set(usage, name, Add(Count(usage, name), Count(details, name)));
        }
        return usage;
    }

    public static long? Count(UsageDetails? usage, string name) =>
        usage?.AdditionalCounts?.TryGetValue(name, out var count) == true ? count : null;

    private static void Set(UsageDetails usage, string name, long? count)
    {
        if (count is { } value)
            (usage.AdditionalCounts ??= [])[name] = value;
    }

    private static long? Add(long? total, long? more) => more is null ? total : (total ?? 0) + more;
}
