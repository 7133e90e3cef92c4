using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.ChatCompletions;

public sealed class StreamingTests : IDisposable
{
    private readonly JunisApp _app = new();

    private async Task<(HttpResponseMessage Response, string Raw)> StreamAsync(object body)
    {
        var response = await _app.CreateAuthorizedClient().PostCompletionAsync(body);
        return (response, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task StreamIsServerSentEventsEndingWithDone()
    {
        var (response, raw) = await StreamAsync(new { messages = new[] { Api.UserMessage("Tell me a story") }, stream = true });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.All(events, e => Assert.DoesNotContain('\n', e));
        Assert.Equal("data: [DONE]", events[^1]);
        Assert.EndsWith("data: [DONE]\n\n", raw);
    }

    [Fact]
    public async Task FirstChunkCarriesTheRoleThenContentThenTheFinishChunk()
    {
        var (_, raw) = await StreamAsync(new { messages = new[] { Api.UserMessage("Tell me a story") }, stream = true });
        var chunks = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).Chunks();

        var first = chunks[0]["choices"]![0]!;
        Assert.Equal("assistant", (string)first["delta"]!["role"]!);
        Assert.Equal("", (string)first["delta"]!["content"]!);
        Assert.All(chunks.Skip(1), c => Assert.Null(c["choices"]![0]!["delta"]!["role"]));

        var content = chunks.Skip(1).SkipLast(1).Select(c => (string)c["choices"]![0]!["delta"]!["content"]!);
        Assert.Equal("Echo: Tell me a story", string.Concat(content));
        Assert.True(content.Count() > 1, "the reply streams in several deltas");

        var last = chunks[^1]["choices"]![0]!;
        Assert.Equal("stop", (string)last["finish_reason"]!);
        Assert.Empty(last["delta"]!.AsObject());
        Assert.All(chunks.SkipLast(1), c => Assert.Null(c["choices"]![0]!["finish_reason"]));
    }

    [Fact]
    public async Task EveryChunkSharesOneIdCreatedAndModel()
    {
        var (_, raw) = await StreamAsync(new { messages = new[] { Api.UserMessage("one two three four") }, stream = true });
        var chunks = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).Chunks();

        Assert.Single(chunks.Select(c => (string)c["id"]!).Distinct());
        Assert.Single(chunks.Select(c => (long)c["created"]!).Distinct());
        Assert.All(chunks, c => Assert.Equal("junis-orchestrator", (string)c["model"]!));
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string)c["object"]!));
        Assert.StartsWith("chatcmpl-", (string)chunks[0]["id"]!);
    }

    [Fact]
    public async Task IncludeUsageAddsAUsageChunkWithNoChoicesBeforeDone()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(
            new { messages = new[] { Api.UserMessage("What is Junis?") }, stream = true, stream_options = new { include_usage = true } });
        var events = await response.ReadEventsAsync();

        Assert.Equal("[DONE]", events[^1]);
        var usageChunk = JsonNode.Parse(events[^2])!;
        Assert.Empty(usageChunk["choices"]!.AsArray());
        Assert.Equal(7, (int)usageChunk["usage"]!["completion_tokens"]!);
        Assert.Equal(12, (int)usageChunk["usage"]!["prompt_tokens"]!);
        Assert.Equal(19, (int)usageChunk["usage"]!["total_tokens"]!);
        Assert.All(events.SkipLast(2).Chunks(), c => Assert.Null(c["usage"]));
    }

    [Fact]
    public async Task WithoutIncludeUsageNoChunkCarriesUsage()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true });
        var chunks = (await response.ReadEventsAsync()).Chunks();

        Assert.All(chunks, c => Assert.Null(c["usage"]));
        Assert.All(chunks, c => Assert.NotEmpty(c["choices"]!.AsArray()));
    }

    [Fact]
    public async Task TwoChoicesEachGetTheirOwnRoleContentAndFinish()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("two ways") }, stream = true, n = 2 });
        var chunks = (await response.ReadEventsAsync()).Chunks();

        foreach (var index in new[] { 0, 1 })
        {
            var mine = chunks.Select(c => c["choices"]!.AsArray().Single()!).Where(c => (int)c["index"]! == index).ToList();
            Assert.Equal("assistant", (string)mine[0]["delta"]!["role"]!);
            Assert.Equal("Echo: two ways", string.Concat(mine.Skip(1).SkipLast(1).Select(c => (string)c["delta"]!["content"]!)));
            Assert.Equal("stop", (string)mine[^1]["finish_reason"]!);
        }
    }

    [Fact]
    public async Task TwoChoicesWithoutStreamingAreTwoIndexedChoices()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("two ways") }, n = 2 });
        var body = await response.ReadJsonAsync();

        var choices = body["choices"]!.AsArray();
        Assert.Equal([0, 1], choices.Select(c => (int)c!["index"]!));
        Assert.All(choices, c => Assert.Equal("Echo: two ways", (string)c!["message"]!["content"]!));
        // Two generations of 4 tokens each.
        Assert.Equal(8, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task StreamedAndWholeAnswersSayTheSame()
    {
        var client = _app.CreateAuthorizedClient();
        using var whole = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("same either way") } });
        using var streamed = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("same either way") }, stream = true });

        var text = string.Concat((await streamed.ReadEventsAsync()).Chunks()
            .Select(c => (string?)c["choices"]![0]!["delta"]!["content"]));
        Assert.Equal((string)(await whole.ReadJsonAsync())["choices"]![0]!["message"]!["content"]!, text);
    }

    public void Dispose() => _app.Dispose();
}
