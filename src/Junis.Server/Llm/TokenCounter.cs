using System.Text;
using Microsoft.ML.Tokenizers;

namespace Junis.Server.Llm;

/// <summary>
/// Counts tokens with OpenAI's o200k encoding, for usage figures when a model reports none.
/// The vocabulary is loaded on first use so that start-up stays fast.
/// Byte-pair encoding costs CPU with every character, so a request's cost stays bounded by counting only the first
/// <see cref="ExactChars"/> characters exactly and estimating the rest at one token per <see cref="BytesPerToken"/> UTF-8 bytes.
/// </summary>
public sealed class TokenCounter
{
    /// <summary>How much of a text, or of a whole prompt, is counted exactly: more than ordinary messages need.</summary>
    internal const int ExactChars = 4096;

    /// <summary>
    /// The estimate beyond <see cref="ExactChars"/>, rounded up: OpenAI's rule of thumb, between English prose (more
    /// bytes a token) and the code, data and technical text that long inputs often are (fewer).
    /// </summary>
    internal const int BytesPerToken = 4;

    // Byte-pair merging is quadratic in the length of one unbroken run of letters, so text is counted in slices cut
    // at whitespace where possible: an unbroken run costs milliseconds, not minutes, and ordinary text counts the same.
    private const int Slice = 1024;

    private readonly Lazy<Tokenizer> _tokenizer = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"));

    public int Count(string? text)
    {
        var budget = ExactChars;
        return Count(text ?? "", ref budget);
    }

    /// <summary>
    /// The prompt size as OpenAI bills chat models: each message costs its role and content plus three
    /// tokens of framing, and the reply is primed with three more. The exact part is shared by all messages.
    /// </summary>
    public int CountPrompt(IEnumerable<(string Role, string? Text)> messages)
    {
        var budget = ExactChars;
        var total = 3;
        foreach (var (role, text) in messages)
            total += 3 + Count(role, ref budget) + Count(text ?? "", ref budget);
        return total;
    }

    /// <summary>The longest prefix of <paramref name="text"/> that <see cref="Count(string?)"/> finds within <paramref name="maxTokens"/> tokens.</summary>
    public string Truncate(string text, int maxTokens)
    {
        var exact = ExactLength(text, ExactChars);
        var left = maxTokens;
        foreach (var range in Slices(text, exact))
        {
            var slice = text.AsSpan(range);
            var end = _tokenizer.Value.GetIndexByTokenCount(slice, left, out _, out var used);
            if (end < slice.Length)
                return text[..(range.Start.Value + end)];
            left -= used;
        }
        return text[..(exact + CharsWithin(text.AsSpan(exact), (long)left * BytesPerToken))];
    }

    /// <summary>Counts <paramref name="text"/> exactly as far as <paramref name="budget"/> characters go, and spends them.</summary>
    private int Count(string text, ref int budget)
    {
        var exact = ExactLength(text, budget);
        budget -= exact;
        var total = Estimate(text.AsSpan(exact));
        foreach (var range in Slices(text, exact))
            total += _tokenizer.Value.CountTokens(text.AsSpan(range));
        return total;
    }

    /// <summary>How much of <paramref name="text"/> is counted exactly: all of it within the budget, else the budget without splitting a surrogate pair.</summary>
    private static int ExactLength(string text, int budget) =>
        text.Length <= budget ? text.Length
        : budget > 0 && char.IsHighSurrogate(text[budget - 1]) ? budget - 1
        : budget;

    private static int Estimate(ReadOnlySpan<char> text) =>
        (int)(((long)Encoding.UTF8.GetByteCount(text) + BytesPerToken - 1) / BytesPerToken);

    /// <summary>How many of <paramref name="text"/>'s characters fit in <paramref name="bytes"/> bytes of UTF-8, never half a surrogate pair.</summary>
    private static int CharsWithin(ReadOnlySpan<char> text, long bytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= bytes)
            return text.Length;
        // Every character takes at least one byte, and a prefix never takes more bytes than a longer one.
        int fits = 0, over = (int)Math.Min(text.Length, bytes) + 1;
        while (over - fits > 1)
        {
            var middle = fits + (over - fits) / 2;
            if (Encoding.UTF8.GetByteCount(text[..middle]) <= bytes) fits = middle;
            else over = middle;
        }
        return fits > 0 && fits < text.Length && char.IsHighSurrogate(text[fits - 1]) && char.IsLowSurrogate(text[fits]) ? fits - 1 : fits;
    }

    private static IEnumerable<Range> Slices(string text, int length)
    {
        for (var start = 0; start < length;)
        {
            var end = Math.Min(start + Slice, length);
            if (end < length && text.LastIndexOfAny([' ', '\n', '\t'], end - 1, end - start) is var space and > 0 && space > start)
                end = space;
            yield return start..end;
            start = end;
        }
    }
}
