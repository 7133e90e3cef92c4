using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>One streamed piece of an answer: its delta (e.g. <c>{"content":"Hel"}</c>) and, if any, the log probabilities of its tokens.</summary>
public sealed record FakePiece(JsonObject Delta, JsonObject? Logprobs = null);

/// <summary>Answers beyond plain text, each as OpenAI's own server gives it, whole or streamed as the request asks.</summary>
public sealed partial class FakeOpenAIServer
{
    public static bool Streams(JsonObject body) => body["stream"]?.GetValue<bool>() == true;

    /// <summary>The role of the last message the model was sent.</summary>
    public static string? LastRole(JsonObject body) => (string?)body["messages"]!.AsArray()[^1]!["role"];

    /// <summary>The text of the request's last message, when it is text.</summary>
    public static string? LastUserText(JsonObject body) => body["messages"]!.AsArray()[^1]!["content"] is JsonValue text ? (string?)text : null;

    /// <summary>A model in a tool loop: it calls <paramref name="name"/> until it is sent a tool result, then answers <paramref name="words"/>.</summary>
    public static Func<HttpContext, JsonObject, Task> ToolThenText(string name, IReadOnlyList<string> argumentPieces, IReadOnlyList<string> words) =>
        (context, body) => LastRole(body) == "tool"
            ? StreamAsync(context, body, words)
            : ToolCallAsync(context, body, name, argumentPieces);

    /// <summary>The same answer, named by the model server's own <c>x-request-id</c>, as OpenAI names each of its answers.</summary>
    public static Func<HttpContext, JsonObject, Task> WithRequestId(string requestId, Func<HttpContext, JsonObject, Task> answer) =>
        (context, body) =>
        {
            context.Response.Headers["x-request-id"] = requestId;
            return answer(context, body);
        };

    /// <summary>A refusal: whole, <c>message.refusal</c> with <c>content</c> null; streamed, <c>delta.refusal</c> piece by piece.</summary>
    public static Task RefusalAsync(HttpContext context, JsonObject body, IReadOnlyList<string> pieces) =>
        PiecesAsync(context, body, [.. pieces.Select(p => new FakePiece(new JsonObject { ["refusal"] = p }))]);

    /// <summary>
    /// Text made of the tokens of <paramref name="entries"/> (each <c>{token, logprob, bytes, top_logprobs}</c>, see
    /// <see cref="Token"/>): whole, all of them in <c>choices[0].logprobs.content</c>; streamed, one token per chunk with its entry.
    /// </summary>
    public static Task LogprobsAsync(HttpContext context, JsonObject body, JsonArray entries) =>
        PiecesAsync(context, body, [.. entries.Select(e => new FakePiece(
            new JsonObject { ["content"] = (string)e!["token"]! },
            new JsonObject { ["content"] = new JsonArray(e.DeepClone()), ["refusal"] = null }))]);

    /// <summary>A token's log probability entry as OpenAI writes it, its UTF-8 bytes included, with its top alternatives.</summary>
    public static JsonObject Token(string token, double logprob, params (string Token, double Logprob)[] top) => new()
    {
        ["token"] = token, ["logprob"] = logprob, ["bytes"] = Bytes(token),
        ["top_logprobs"] = new JsonArray([.. top.Select(t => (JsonNode)new JsonObject { ["token"] = t.Token, ["logprob"] = t.Logprob, ["bytes"] = Bytes(t.Token) })]),
    };

    private static JsonArray Bytes(string token) => new([.. Encoding.UTF8.GetBytes(token).Select(b => (JsonNode)JsonValue.Create((int)b))]);

    /// <summary>
    /// An answer made of <paramref name="pieces"/>: whole, one message holding their deltas joined (and their log
    /// probabilities); streamed, a role chunk, a chunk per piece, the finish chunk, and the usage chunk when asked for.
    /// <paramref name="fields"/> (e.g. <c>system_fingerprint</c>) go on the answer and on every chunk, as OpenAI puts them.
    /// </summary>
    public static async Task PiecesAsync(HttpContext context, JsonObject body, IReadOnlyList<FakePiece> pieces, string finishReason = "stop",
        JsonObject? fields = null, JsonObject? usage = null)
    {
        usage ??= new JsonObject { ["prompt_tokens"] = 9, ["completion_tokens"] = pieces.Count, ["total_tokens"] = 9 + pieces.Count };
        if (!Streams(body))
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = null, ["refusal"] = null };
            JsonObject? logprobs = null;
            foreach (var piece in pieces)
            {
                foreach (var (name, value) in piece.Delta)
                    message[name] = (string?)message[name] + (string?)value;
                foreach (var (name, value) in piece.Logprobs ?? [])
                {
                    logprobs ??= new JsonObject { ["content"] = null, ["refusal"] = null };
                    if (value is JsonArray entries)
                        logprobs[name] = new JsonArray([.. ((JsonArray?)logprobs[name] ?? []).Select(e => e!.DeepClone()), .. entries.Select(e => e!.DeepClone())]);
                }
            }
            var whole = Envelope("chat.completion", fields);
            whole["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = logprobs, ["finish_reason"] = finishReason });
            whole["usage"] = usage.DeepClone();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(whole.ToJsonString());
            return;
        }

        context.Response.ContentType = "text/event-stream";
        await WriteEventAsync(context, ChunkOf(new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null }, null, null, fields));
        foreach (var piece in pieces)
            await WriteEventAsync(context, ChunkOf(piece.Delta.DeepClone().AsObject(), piece.Logprobs, null, fields));
        await WriteEventAsync(context, ChunkOf(new JsonObject(), null, finishReason, fields));
        if (body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
        {
            var last = Envelope("chat.completion.chunk", fields);
            last["choices"] = new JsonArray();
            last["usage"] = usage.DeepClone();
            await WriteEventAsync(context, last.ToJsonString());
        }
        await WriteEventAsync(context, "[DONE]");
    }

    private static JsonObject Envelope(string kind, JsonObject? fields)
    {
        var answer = new JsonObject { ["id"] = "chatcmpl-fake", ["object"] = kind, ["created"] = 1, ["model"] = "fake-model" };
        foreach (var (name, value) in fields ?? [])
            answer[name] = value?.DeepClone();
        return answer;
    }

    private static string ChunkOf(JsonObject delta, JsonObject? logprobs, string? finishReason, JsonObject? fields)
    {
        var chunk = Envelope("chat.completion.chunk", fields);
        chunk["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0, ["delta"] = delta, ["logprobs"] = logprobs?.DeepClone(), ["finish_reason"] = finishReason,
        });
        return chunk.ToJsonString();
    }

    /// <summary>OpenAI's 429: its error body, with whichever of its wait headers are given.</summary>
    public static Task RateLimitedAsync(HttpContext context, string? retryAfter, string? retryAfterMs)
    {
        if (retryAfter is not null)
            context.Response.Headers.RetryAfter = retryAfter;
        if (retryAfterMs is not null)
            context.Response.Headers["retry-after-ms"] = retryAfterMs;
        return ErrorAsync(context, StatusCodes.Status429TooManyRequests, "Rate limit reached for requests.", "requests");
    }

    /// <summary>A stream that says <paramref name="words"/> and then fails: an error event, and the body ends (no finish, no [DONE]).</summary>
    public static async Task WordsThenErrorAsync(HttpContext context, IReadOnlyList<string> words, string message)
    {
        context.Response.ContentType = "text/event-stream";
        await WriteEventAsync(context, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
        foreach (var word in words)
            await WriteEventAsync(context, Chunk(new JsonObject { ["content"] = word }, null));
        await WriteEventAsync(context, new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = "server_error", ["param"] = null, ["code"] = null },
        }.ToJsonString());
    }
}
