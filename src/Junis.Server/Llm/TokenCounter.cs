using Microsoft.ML.Tokenizers;

namespace Junis.Server.Llm;

/// <summary>
/// Counts tokens with OpenAI's o200k encoding, for usage figures when a model reports none.
/// The vocabulary is loaded on first use so that start-up stays fast.
/// </summary>
public sealed class TokenCounter
{
    // Byte-pair merging is quadratic in the length of one unbroken run of letters, so long text is counted in
    // slices cut at whitespace where possible: a megabyte without a space costs milliseconds, not minutes, and
    // ordinary text counts the same.
    private const int Slice = 1024;

    private readonly Lazy<Tokenizer> _tokenizer = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"));

    public int Count(string? text)
    {
        var total = 0;
        foreach (var range in Slices(text ?? ""))
            total += _tokenizer.Value.CountTokens(text.AsSpan(range));
        return total;
    }

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
        var left = maxTokens;
        foreach (var range in Slices(text))
        {
            var slice = text.AsSpan(range);
            var end = _tokenizer.Value.GetIndexByTokenCount(slice, left, out _, out var used);
            if (end < slice.Length)
                return text[..(range.Start.Value + end)];
            left -= used;
        }
        return text;
    }

    private static IEnumerable<Range> Slices(string text)
    {
        for (var start = 0; start < text.Length;)
        {
            var end = Math.Min(start + Slice, text.Length);
            if (end < text.Length && text.LastIndexOfAny([' ', '\n', '\t'], end - 1, end - start) is var space and > 0 && space > start)
                end = space;
            yield return start..end;
            start = end;
        }
    }
}
