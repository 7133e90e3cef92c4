using System.Text;
using System.Text.Json;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;
using static Junis.Server.Tests.Llm.EchoModelTests;

namespace Junis.Server.Tests.Llm;

/// <summary>Echo's log probabilities: one certain token per streamed piece, in OpenAI's logprobs shape.</summary>
public sealed class EchoLogprobsTests
{
    [Fact]
    public async Task EveryStreamedPieceCarriesItsOwnLogprobs()
    {
        var updates = await StreamAsync(Ask("héllo there"), Fields("""{"logprobs":true,"top_logprobs":2}"""));

        var texts = updates.Where(u => u.Contents.OfType<TextContent>().Any()).ToList();
        Assert.Equal(3, texts.Count);
        foreach (var update in texts)
        {
            var piece = update.Contents.OfType<TextContent>().Single().Text;
            var logprobs = update.Contents.OfType<LogprobsContent>().Single().Logprobs;
            var token = Assert.Single(logprobs.GetProperty("content").EnumerateArray());
            AssertToken(piece, token);
            AssertToken(piece, Assert.Single(token.GetProperty("top_logprobs").EnumerateArray()));
            Assert.Equal(JsonValueKind.Null, logprobs.GetProperty("refusal").ValueKind);
        }
        Assert.Equal(" héllo", texts[1].Text);
        Assert.Empty(updates[^1].Contents.OfType<LogprobsContent>());
    }

    private static void AssertToken(string piece, JsonElement token)
    {
        Assert.Equal(piece, token.GetProperty("token").GetString());
        Assert.Equal(0, token.GetProperty("logprob").GetDouble());
        Assert.Equal(Encoding.UTF8.GetBytes(piece), token.GetProperty("bytes").EnumerateArray().Select(b => b.GetByte()));
    }

    [Theory]
    [InlineData("""{"logprobs":true}""")]
    [InlineData("""{"logprobs":true,"top_logprobs":0}""")]
    public async Task WithoutTopLogprobsTheAlternativesAreEmpty(string fields)
    {
        var updates = await StreamAsync(Ask("hi"), Fields(fields));

        var logprobs = updates[0].Contents.OfType<LogprobsContent>().Single().Logprobs;
        Assert.Equal("""{"content":[{"token":"Echo:","logprob":0,"bytes":[69,99,104,111,58],"top_logprobs":[]}],"refusal":null}""",
            logprobs.GetRawText());
    }

    [Fact]
    public async Task AWholeAnswerHasOneLogprobsObjectForAllItsTokens()
    {
        var options = Fields("""{"logprobs":true,"top_logprobs":1,"response_format":{"type":"json_object"}}""");
        var pieces = Pieces(await StreamAsync(Ask("one two three"), options));

        var whole = await Echo.GetResponseAsync(Ask("one two three"), options);

        var contents = Assert.Single(whole.Messages).Contents;
        Assert.Equal(2, contents.Count);
        Assert.Equal("""{"echo":"Echo: one two three"}""", Assert.IsType<TextContent>(contents[0]).Text);
        var tokens = Assert.IsType<LogprobsContent>(contents[1]).Logprobs.GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(pieces, tokens.Select(t => t.GetProperty("token").GetString()));
        Assert.Equal(contents[0].ToString(), string.Concat(pieces));
    }

    [Theory]
    [InlineData("""{"logprobs":false,"top_logprobs":3}""")]
    [InlineData("""{"top_logprobs":3}""")]
    public async Task WithoutLogprobsThereAreNone(string fields)
    {
        var whole = await Echo.GetResponseAsync(Ask("hi"), Fields(fields));

        Assert.Empty(whole.Messages.SelectMany(m => m.Contents).OfType<LogprobsContent>());
    }
}
