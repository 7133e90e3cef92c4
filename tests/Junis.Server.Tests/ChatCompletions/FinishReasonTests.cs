using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.ChatCompletions;

public sealed class FinishReasonTests : IDisposable
{
    private readonly JunisApp _app = new();

    private async Task<(string Content, string Finish, int CompletionTokens)> AskAsync(object body)
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(body);
        var json = await response.ReadJsonAsync();
        var choice = json["choices"]![0]!;
        return ((string)choice["message"]!["content"]!, (string)choice["finish_reason"]!, (int)json["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task MaxTokensCutsTheReplyAndSaysLength()
    {
        var (content, finish, tokens) = await AskAsync(new { messages = new[] { Api.UserMessage("one two three four five six") }, max_tokens = 3 });

        Assert.Equal("length", finish);
        Assert.Equal("Echo: one", content);
        Assert.Equal(3, tokens);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(100_000)]
    public async Task EchoStopsAtItsOwnOutputLimitAsAModelDoes(int? maxTokens)
    {
        var words = string.Join(' ', Enumerable.Repeat("word", 6000));
        var (content, finish, tokens) = await AskAsync(new { messages = new[] { Api.UserMessage(words) }, max_tokens = maxTokens });

        Assert.Equal("length", finish);
        Assert.Equal(4096, tokens);
        Assert.StartsWith("Echo: word word", content);
        Assert.True(content.Length < words.Length);
    }

    [Fact]
    public async Task MaxCompletionTokensWinsOverMaxTokens()
    {
        var (content, finish, _) = await AskAsync(new { messages = new[] { Api.UserMessage("one two three four five six") }, max_tokens = 100, max_completion_tokens = 4 });

        Assert.Equal("length", finish);
        Assert.Equal("Echo: one two", content);
    }

    [Fact]
    public async Task AReplyThatFitsSaysStop()
    {
        var (_, finish, _) = await AskAsync(new { messages = new[] { Api.UserMessage("short") }, max_tokens = 100 });

        Assert.Equal("stop", finish);
    }

    [Fact]
    public async Task StopSequenceEndsTheReplyBeforeItAndSaysStop()
    {
        var (content, finish, _) = await AskAsync(new { messages = new[] { Api.UserMessage("alpha beta. gamma") }, stop = new[] { "xyz", "." } });

        Assert.Equal("stop", finish);
        Assert.Equal("Echo: alpha beta", content);
    }

    [Fact]
    public async Task StreamedLengthCutEndsWithLength()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(
            new { messages = new[] { Api.UserMessage("one two three four five six") }, max_tokens = 3, stream = true });
        var chunks = (await response.ReadEventsAsync()).Chunks();

        Assert.Equal("length", (string)chunks[^1]["choices"]![0]!["finish_reason"]!);
    }

    public void Dispose() => _app.Dispose();
}
