using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Junis.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// What a request costs the server's CPU is bounded: a megabyte for the Echo model is read, echoed and stored, but
/// not tokenized. Measured as the whole process's CPU time, so these tests run alone.
/// </summary>
[Collection(nameof(RequestCostTests))]
public sealed class RequestCostTests(ITestOutputHelper output) : IDisposable
{
    private const int MiB = 1024 * 1024;
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(50);

    private readonly JunisApp _app = new(new() { ["Junis:Limits:MaxRequestBodyBytes"] = (4 * MiB).ToString(CultureInfo.InvariantCulture) });

    [CollectionDefinition(nameof(RequestCostTests), DisableParallelization = true)]
    public sealed class Alone;

    [Fact]
    public Task AMegabyteOfOneRepeatedCharacterCostsMillisecondsOfCpu() =>
        AssertCheapAsync(new { messages = new[] { Api.UserMessage(new string('a', MiB)) } });

    [Fact]
    public Task AMegabyteOfWordsCostsMillisecondsOfCpu() =>
        AssertCheapAsync(new { messages = new[] { Api.UserMessage(Words(MiB)) } });

    [Fact]
    public Task AStreamedMegabyteOfOneRepeatedCharacterCostsMillisecondsOfCpu() =>
        AssertCheapAsync(new { messages = new[] { Api.UserMessage(new string('a', MiB)) }, stream = true });

    [Fact]
    public Task AStreamedMegabyteOfWordsCostsMillisecondsOfCpu() =>
        AssertCheapAsync(new { messages = new[] { Api.UserMessage(Words(MiB)) }, stream = true });

    [Fact]
    public Task AMegabyteOfWordsWithLogprobsCostsMillisecondsOfCpu() =>
        AssertCheapAsync(new { messages = new[] { Api.UserMessage(Words(MiB)) }, logprobs = true, top_logprobs = 2 });

    [Fact]
    public Task AMegabyteCutToATokenLimitCostsMillisecondsOfCpu() =>
        AssertCheapAsync(new { messages = new[] { Api.UserMessage(new string('a', MiB)) }, max_tokens = 100_000 });

    private async Task AssertCheapAsync(object request)
    {
        using var client = _app.CreateAuthorizedClient();
        var body = JsonSerializer.SerializeToUtf8Bytes(request);
        // JIT, the tokenizer's vocabulary and the first large buffers are paid once, before measuring.
        await SendAsync(client, JsonSerializer.SerializeToUtf8Bytes(new { messages = new[] { Api.UserMessage("hello") } }));
        await SendAsync(client, body);

        // The least of a few, as other threads of this process (the JIT, the GC) may run during any one.
        var costs = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
            costs.Add(await SendAsync(client, body));

        var report = $"CPU per request: {string.Join(", ", costs.Select(c => $"{c.TotalMilliseconds:F1} ms"))}";
        output.WriteLine(report);
        Assert.True(costs.Min() < Budget, report);
    }

    /// <summary>The CPU the whole process spent while one request was sent, answered and read.</summary>
    private static async Task<TimeSpan> SendAsync(HttpClient client, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        using var response = await client.PostAsync(Api.Completions, content);
        var answer = await response.Content.ReadAsStringAsync();
        process.Refresh();
        var cost = process.TotalProcessorTime - before;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Echo", answer);
        return cost;
    }

    /// <summary>Ordinary English words, <paramref name="length"/> characters of them.</summary>
    private static string Words(int length)
    {
        string[] words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "wizards",
            "quietly", "pack", "boxes", "of", "liquor", "and", "jugs", "for", "morning", "travel", "through", "cities"];
        var text = new StringBuilder(length + 16);
        var random = new Random(7);
        while (text.Length < length)
            text.Append(words[random.Next(words.Length)]).Append(random.Next(12) == 0 ? ". " : " ");
        return text.ToString(0, length);
    }

    public void Dispose() => _app.Dispose();
}
