using System.Text;
using Junis.Server.Llm;
using Microsoft.ML.Tokenizers;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// Token counts where a model reports none: exact, as the o200k tokenizer counts, for ordinary messages; an estimate
/// near the exact count beyond <see cref="TokenCounter.ExactChars"/>, where exact counting would cost too much.
/// </summary>
public sealed class TokenCounterTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForModel("gpt-4o");

    private static readonly string[] Sentences =
    [
        "The committee met on Tuesday morning to review the budget for the coming year.",
        "Most of the discussion concerned the cost of repairing the old bridge over the river, which had been closed since the spring floods.",
        "Several members argued that the town could not afford to wait another winter, while others wanted to see the engineers' report first.",
        "In the end they agreed to ask for two more estimates and to meet again before the end of the month.",
        "Meanwhile, the library will open an hour later on weekdays, because two of its staff have retired and nobody has yet replaced them.",
        "Parents have asked whether the children's reading hour on Saturdays can continue; the librarian says it can, with the help of volunteers.",
        "The weather has been unusually dry, and farmers in the valley are worried about the harvest.",
        "A public meeting about water use is planned for the first week of next month at the school hall.",
    ];

    private readonly TokenCounter _tokens = new();

    /// <summary>Ordinary English prose: at least <paramref name="length"/> characters, whole sentences.</summary>
    private static string Prose(int length)
    {
        var text = new StringBuilder();
        for (var i = 0; text.Length < length; i++)
            text.Append(i == 0 ? "" : " ").Append(Sentences[i % Sentences.Length]);
        return text.ToString();
    }

    [Fact]
    public void AFewSentencesCountAsTheTokenizerCountsThem()
    {
        var text = string.Join(" ", Sentences[..3]);

        Assert.Equal(O200k.CountTokens(text), _tokens.Count(text));
    }

    [Fact]
    public void AParagraphOfThreeKibibytesCountsAsTheTokenizerCountsIt()
    {
        var text = Prose(3 * 1024);
        Assert.InRange(text.Length, 3 * 1024, TokenCounter.ExactChars);

        Assert.Equal(O200k.CountTokens(text), _tokens.Count(text));
    }

    [Fact]
    public void APromptOfOrdinaryMessagesCountsAsOpenAIBillsIt()
    {
        (string Role, string? Text)[] messages = [("system", Sentences[0]), ("user", Prose(2000)), ("assistant", null)];

        var expected = 3 + messages.Sum(m => 3 + O200k.CountTokens(m.Role) + O200k.CountTokens(m.Text ?? ""));
        Assert.Equal(expected, _tokens.CountPrompt(messages));
    }

    [Fact]
    public void BeyondTheExactPartEveryFourBytesCountOneToken()
    {
        var head = Prose(TokenCounter.ExactChars)[..TokenCounter.ExactChars];
        var tail = new string('é', 1000);

        // 'é' is two bytes of UTF-8: 2,000 bytes, 500 tokens.
        Assert.Equal(O200k.CountTokens(head) + 500, _tokens.Count(head + tail));
    }

    [Fact]
    public void TheEstimateForLongEnglishProseIsNearItsExactCount()
    {
        var text = Prose(64 * 1024);

        var ratio = (double)_tokens.Count(text) / O200k.CountTokens(text);

        Assert.InRange(ratio, 0.75, 1.35);
    }

    [Fact]
    public void APromptSharesOneExactPartAmongItsMessages()
    {
        var message = Prose(TokenCounter.ExactChars)[..TokenCounter.ExactChars];

        var prompt = _tokens.CountPrompt([("user", message), ("user", message)]);

        // The first role and all but the last four characters of the first message fill the exact part.
        var exact = TokenCounter.ExactChars - "user".Length;
        var first = 3 + O200k.CountTokens("user") + O200k.CountTokens(message[..exact]) + 1;
        var second = 3 + 1 + message.Length / 4;
        Assert.Equal(3 + first + second, prompt);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(500)]
    [InlineData(5_000)]
    [InlineData(15_000)]
    public void ATruncatedTextCountsNoMoreThanItsLimit(int maxTokens)
    {
        var text = Prose(64 * 1024);

        var truncated = _tokens.Truncate(text, maxTokens);

        Assert.StartsWith(truncated, text);
        Assert.InRange(_tokens.Count(truncated), maxTokens - 3, maxTokens);
    }

    [Fact]
    public void ATextWithinItsLimitIsNotTruncated()
    {
        var text = Prose(64 * 1024);

        Assert.Equal(text, _tokens.Truncate(text, _tokens.Count(text)));
    }
}
