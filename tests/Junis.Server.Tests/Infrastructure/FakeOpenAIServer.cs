using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>
/// A stand-in for a third-party OpenAI-compatible model server, over real HTTP on 127.0.0.1, so the
/// server's OpenAI provider is exercised through its real client and sockets. Each test sets what it answers; the
/// answers beyond plain text (JSON, refusals, log probabilities, rate limits, …) are in FakeOpenAIServer.Answers.cs.
/// </summary>
public sealed partial class FakeOpenAIServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public FakeOpenAIServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var body = await JsonNode.ParseAsync(context.Request.Body);
            lock (Requests)
                Requests.Add(new FakeRequest(body!.AsObject(), context.Request.Headers.Authorization.ToString(),
                    context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            await Handler(context, body!.AsObject());
        });
        _app.StartAsync().GetAwaiter().GetResult();
        BaseUrl = _app.Urls.First() + "/v1";
    }

    /// <summary>The base URL to configure as <c>Junis:Llm:BaseUrl</c>.</summary>
    public string BaseUrl { get; }

    public List<FakeRequest> Requests { get; } = [];

    /// <summary>What the server answers; by default, a stream of "Hello from the model".</summary>
    public Func<HttpContext, JsonObject, Task> Handler { get; set; } = (context, body) =>
        StreamAsync(context, body, ["Hello", " from", " the", " model"]);

    public Dictionary<string, string?> Settings(int timeoutSeconds = 30) => new()
    {
        ["Junis:Llm:Provider"] = "OpenAI",
        ["Junis:Llm:BaseUrl"] = BaseUrl,
        ["Junis:Llm:ApiKey"] = "sk-upstream-secret",
        ["Junis:Llm:Model"] = "fake-model",
        ["Junis:Llm:TimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Answers like OpenAI: whole JSON, or SSE chunks when the request streams. A stream can break off
    /// (<paramref name="cutAfter"/> words; once <paramref name="cutWhen"/> completes, if given) or fall silent
    /// (<paramref name="stallAfter"/> words).
    /// </summary>
    public static async Task StreamAsync(HttpContext context, JsonObject body, IReadOnlyList<string> words,
        TimeSpan delay = default, string finishReason = "stop", int? cutAfter = null, (int Prompt, int Completion)? usage = null,
        int? stallAfter = null, Task? cutWhen = null)
    {
        usage ??= (9, words.Count);
        if (body["stream"]?.GetValue<bool>() != true)
        {
            var whole = JsonSerializer.Serialize(new
            {
                id = "chatcmpl-fake", @object = "chat.completion", created = 1, model = "fake-model",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = string.Concat(words) }, finish_reason = finishReason } },
                usage = new { prompt_tokens = usage.Value.Prompt, completion_tokens = usage.Value.Completion, total_tokens = usage.Value.Prompt + usage.Value.Completion },
            });
            context.Response.ContentType = "application/json";
            if (cutAfter is not null)
            {
                // Half an answer, then the connection drops.
                context.Response.ContentLength = whole.Length;
                await context.Response.WriteAsync(whole[..(whole.Length / 2)]);
                await context.Response.Body.FlushAsync();
                await Task.Delay(delay, context.RequestAborted);
                context.Abort();
                return;
            }
            await context.Response.WriteAsync(whole);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        await WriteEventAsync(context, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
        for (var i = 0; i < words.Count; i++)
        {
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, context.RequestAborted);
            if (i == cutAfter)
            {
                // A reset discards what the other side has received but not yet read: a test that needs those
                // words passed on says when they have been.
                if (cutWhen is not null)
                    await cutWhen.WaitAsync(context.RequestAborted);
                context.Abort();
                return;
            }
            if (i == stallAfter)
            {
                // Connected, but saying nothing more.
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }
            await WriteEventAsync(context, Chunk(new JsonObject { ["content"] = words[i] }, null));
        }
        await WriteEventAsync(context, Chunk(new JsonObject(), finishReason));
        if (body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
        {
            await WriteEventAsync(context, new JsonObject
            {
                ["id"] = "chatcmpl-fake", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = "fake-model",
                ["choices"] = new JsonArray(),
                ["usage"] = new JsonObject { ["prompt_tokens"] = usage.Value.Prompt, ["completion_tokens"] = usage.Value.Completion, ["total_tokens"] = usage.Value.Prompt + usage.Value.Completion },
            }.ToJsonString());
        }
        await WriteEventAsync(context, "[DONE]");
    }

    /// <summary>Answers with one tool call, streamed as OpenAI streams it: id and name first, then the arguments in pieces.</summary>
    public static async Task ToolCallAsync(HttpContext context, JsonObject body, string name, IReadOnlyList<string> argumentPieces, string id = "call_fake1")
    {
        if (body["stream"]?.GetValue<bool>() != true)
        {
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-fake", @object = "chat.completion", created = 1, model = "fake-model",
                choices = new[]
                {
                    new
                    {
                        index = 0, finish_reason = "tool_calls",
                        message = new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id, type = "function", function = new { name, arguments = string.Concat(argumentPieces) } } } },
                    },
                },
                usage = new { prompt_tokens = 20, completion_tokens = 10, total_tokens = 30 },
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        await WriteEventAsync(context, Chunk(new JsonObject
        {
            ["role"] = "assistant", ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["index"] = 0, ["id"] = id, ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = name, ["arguments"] = "" },
            }),
        }, null));
        foreach (var piece in argumentPieces)
        {
            await WriteEventAsync(context, Chunk(new JsonObject
            {
                ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = piece } }),
            }, null));
        }
        await WriteEventAsync(context, Chunk(new JsonObject(), "tool_calls"));
        await WriteEventAsync(context, "[DONE]");
    }

    public static string Chunk(JsonObject delta, string? finishReason) => new JsonObject
    {
        ["id"] = "chatcmpl-fake", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = "fake-model",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
    }.ToJsonString();

    public static async Task WriteEventAsync(HttpContext context, string data)
    {
        await context.Response.WriteAsync($"data: {data}\n\n", Encoding.UTF8);
        await context.Response.Body.FlushAsync();
    }

    public static Task ErrorAsync(HttpContext context, int status, string message, string type = "invalid_request_error")
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type, param = (string?)null, code = (string?)null } }));
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

public sealed record FakeRequest(JsonObject Body, string Authorization, IReadOnlyDictionary<string, string> Headers);
