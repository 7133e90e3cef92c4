using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// A model's answer is read no further than <c>Junis:Llm:MaxResponseBytes</c>, whole or streamed, one endless line
/// included: past it the call fails like any model failure, a stream keeps what its caller was sent as interrupted, and
/// the server's memory comes back to where it was. Over real HTTP against a model server that answers 64 MiB at full
/// speed; memory is measured for the whole process, so these tests run alone.
/// </summary>
[Collection(nameof(ModelAnswerLimitTests))]
public sealed class ModelAnswerLimitTests : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private const int Limit = MiB;
    private const long AnswerBytes = 64L * MiB;
    private const string LimitMessage = "The model's answer exceeded this server's limit of 1048576 bytes.";

    /// <summary>64 KiB of words, the model's answer a piece at a time.</summary>
    private static readonly string Piece = string.Concat(Enumerable.Repeat("all work and no play makes a dull model ", 64 * 1024 / 40 + 1))[..(64 * 1024)];

    private readonly FakeOpenAIServer _model = new();
    private readonly LogCapture _log = new();
    private JunisApp _app = null!;

    [CollectionDefinition(nameof(ModelAnswerLimitTests), DisableParallelization = true)]
    public sealed class Alone;

    public Task InitializeAsync()
    {
        var settings = _model.Settings(timeoutSeconds: 30);
        settings["Junis:Llm:MaxResponseBytes"] = Limit.ToString(CultureInfo.InvariantCulture);
        _app = new JunisApp(settings, services => services.AddSingleton<ILogEventSink>(_log));
        _app.UseKestrel();
        _app.StartServer();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AStreamPastTheLimitFailsKeepsWhatTheCallerWasSentAsInterruptedAndLetsItsMemoryGo()
    {
        var client = _app.CreateAuthorizedClient();
        _model.Handler = StreamPastTheLimitAsync;
        // The first such answer pays for what every later one shares (JIT, the tokenizer, pools, a failure's first log).
        (await ReadStreamAsync(client)).Response.Dispose();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var (response, received, error) = await ReadStreamAsync(client);
        // Measured before the response is let go: a server that read the answer unbounded holds all of it now, as the model pauses at its end.
        var after = GC.GetTotalMemory(forceFullCollection: true);
        using var _ = response;

        Assert.True(after - before < 16 * MiB, $"The server's memory grew by {(after - before) / MiB} MiB for a {AnswerBytes / MiB} MiB answer.");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(LimitMessage, (string?)error?["message"]);
        Assert.Equal("api_error", (string?)error?["type"]);
        Assert.InRange(received.Length, Piece.Length, Limit);
        var messages = await MessagesAsync(client, response);
        Assert.Equal(["user", "assistant"], messages.Select(m => (string?)m!["role"]));
        var reply = messages[1]!;
        Assert.True((bool?)reply["interrupted"]);
        Assert.Equal(received, (string?)reply["content"]);
        var warning = await _log.WaitForAsync(e => e.Level == LogEventLevel.Warning && e.MessageTemplate.Text.StartsWith("Model call", StringComparison.Ordinal));
        Assert.Contains("1048576 bytes", LogCapture.Render(warning));
    }

    [Fact]
    public async Task OneEndlessLineOfAStreamFailsAtTheLimit()
    {
        _model.Handler = async (context, _) =>
        {
            context.Response.ContentType = "text/event-stream";
            await WriteAsync(context, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"", Piece, "\"}}]}");
        };
        var client = _app.CreateAuthorizedClient();

        using var response = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(LimitMessage, (string?)(await response.ReadJsonAsync())["error"]!["message"]);
        Assert.Equal(["user"], (await MessagesAsync(client, response)).Select(m => (string?)m!["role"]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AWholeAnswerPastTheLimitIsA502AndLeavesNoReply(bool declared)
    {
        const string start = """{"id":"chatcmpl-fake","object":"chat.completion","created":1,"model":"fake-model","choices":[{"index":0,"message":{"role":"assistant","content":" """;
        _model.Handler = async (context, _) =>
        {
            context.Response.ContentType = "application/json";
            if (!declared)
            {
                await WriteAsync(context, start, Piece, "\"},\"finish_reason\":\"stop\"}]}");
                return;
            }
            // Its length says enough: the answer fails before the model has sent more than its first bytes.
            context.Response.ContentLength = AnswerBytes;
            await context.Response.WriteAsync(start, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        };
        var client = _app.CreateAuthorizedClient();

        using var response = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(LimitMessage, (string?)(await response.ReadJsonAsync())["error"]!["message"]);
        Assert.Equal(["user"], (await MessagesAsync(client, response)).Select(m => (string?)m!["role"]));
    }

    /// <summary>A role chunk, then 64 MiB of words as fast as they go, then silence: nothing more, and no end.</summary>
    private static async Task StreamPastTheLimitAsync(HttpContext context, JsonObject body)
    {
        context.Response.ContentType = "text/event-stream";
        await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
        var chunk = Encoding.UTF8.GetBytes($"data: {FakeOpenAIServer.Chunk(new JsonObject { ["content"] = Piece }, null)}\n\n");
        try
        {
            for (var sent = 0L; sent < AnswerBytes; sent += Piece.Length)
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The server hung up, as it should.
        }
    }

    /// <summary><paramref name="start"/>, 64 MiB of <paramref name="piece"/>, then <paramref name="end"/>: unless the reader hangs up first.</summary>
    private static async Task WriteAsync(HttpContext context, string start, string piece, string end)
    {
        var bytes = Encoding.UTF8.GetBytes(piece);
        try
        {
            await context.Response.WriteAsync(start, context.RequestAborted);
            for (var sent = 0L; sent < AnswerBytes; sent += bytes.Length)
                await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
            await context.Response.WriteAsync(end, context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }

    /// <summary>
    /// Reads a stream until it ends or breaks, or until the whole answer has come through: the words that came (held
    /// only up to a few MiB), and the error event, if one came.
    /// </summary>
    private static async Task<(HttpResponseMessage Response, string Received, JsonNode? Error)> ReadStreamAsync(HttpClient client)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(new { messages = new[] { Api.UserMessage("Tell me everything.") }, stream = true }) };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var received = new StringBuilder();
        var count = 0L;
        JsonNode? error = null;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            await foreach (var item in SseParser.Create(body).EnumerateAsync())
            {
                if (item.Data == "[DONE]")
                    break;
                var data = JsonNode.Parse(item.Data)!;
                error ??= data["error"];
                if ((string?)data["choices"]?[0]?["delta"]?["content"] is { } words)
                {
                    count += words.Length;
                    if (received.Length < 4 * MiB)
                        received.Append(words);
                }
                if (count >= AnswerBytes)
                    break;
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            // Broken off after the error event, as a failed stream is.
        }
        return (response, received.ToString(), error);
    }

    /// <summary>The messages the Sessions API holds for the turn of <paramref name="response"/>.</summary>
    private static async Task<JsonArray> MessagesAsync(HttpClient client, HttpResponseMessage response)
    {
        var session = response.Headers.GetValues("X-Session-Id").Single();
        using var messages = await client.GetAsync($"/api/external/sessions/{session}/messages");
        Assert.Equal(HttpStatusCode.OK, messages.StatusCode);
        return (await messages.ReadJsonAsync())["messages"]!.AsArray();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _model.DisposeAsync();
    }
}
