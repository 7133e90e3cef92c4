using Microsoft.ML.Tokenizers;

namespace Junis.Server.Llm;

/// <summary>
/// Counts tokens with OpenAI's o200k encoding, for usage figures when a model reports none.
/// The vocabulary is loaded on first use so that start-up stays fast.
/// </summary>
public sealed class TokenCounter
{
    private readonly Lazy<Tokenizer> _tokenizer = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"));

    public int Count(string? text) => string.IsNullOrEmpty(text) ? 0 : _tokenizer.Value.CountTokens(text);

    /// <summary>
    /// The prompt size as OpenAI bills chat models: each message costs its role and content plus three
    /// tokens of framing, and the reply is primed with three more.
    /// </summary>
    public int CountPrompt(IEnumerable<(string Role, string? Text)> messages)
    {
        var total = 3;
        foreach (var (role, text) in messages)
            total += 3 + Count(role) + Count(text);
        return total;
    }

    /// <summary>The longest prefix of <paramref name="text"/> that fits in <paramref name="maxTokens"/> tokens.</summary>
    public string Truncate(string text, int maxTokens)
    {
        var end = _tokenizer.Value.GetIndexByTokenCount(text, maxTokens, out _, out _);
        return text[..end];
    }
}
