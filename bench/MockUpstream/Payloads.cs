using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;

namespace MockUpstream;

/// <summary>
/// Every byte the mock sends, serialized once: a chunk or an answer is the same for every request,
/// only its length varies, and the per-length pieces are cached on first use.
/// </summary>
public static class Payloads
{
    const string Id = "chatcmpl-mock";
    const string Model = "mock-model";
    const int PromptTokens = 12;

    static readonly long Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    static readonly string[] Words =
        "Sure, here is a short answer from the mock model, so that every stream carries a little text to pass on."
            .Split(' ')
            .Select(word => word + " ")
            .ToArray();

    static readonly byte[] FirstChunk = Event(json => WriteChunk(json, Words[0], withRole: true));
    static readonly byte[][] ContentChunks = Words.Select(word => Event(json => WriteChunk(json, word, withRole: false))).ToArray();
    static readonly ConcurrentDictionary<int, byte[]> UsageChunks = new();
    static readonly ConcurrentDictionary<int, byte[]> Completions = new();

    public static ReadOnlySpan<byte> Done => "data: [DONE]\n\n"u8;

    /// <summary>A stream's first chunk with no words yet (the silent mode's only one): the role and empty content.</summary>
    public static byte[] RoleChunk => _roleChunk ??= Event(json => WriteChunk(json, "", withRole: true));
    static byte[]? _roleChunk;

    /// <summary>The failing mode's answer to every request, with HTTP 500.</summary>
    public static byte[] ServerError => _serverError ??= Json(json =>
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", "The mock upstream fails every request (--mode failing).");
        json.WriteString("type", "server_error");
        json.WriteNull("param");
        json.WriteNull("code");
        json.WriteEndObject();
        json.WriteEndObject();
    });
    static byte[]? _serverError;

    public static readonly byte[] FinishChunk = Event(json =>
    {
        WriteChunkStart(json);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("delta");
        json.WriteEndObject();
        json.WriteNull("logprobs");
        json.WriteString("finish_reason", "stop");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    });

    public static readonly byte[] Models = Json(json =>
    {
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        json.WriteStartObject();
        json.WriteString("id", Model);
        json.WriteString("object", "model");
        json.WriteNumber("created", Created);
        json.WriteString("owned_by", "mock");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    });

    public static byte[] ContentChunk(int index) => index == 0 ? FirstChunk : ContentChunks[index % ContentChunks.Length];

    public static byte[] UsageChunk(int chunks) => UsageChunks.GetOrAdd(chunks, static n => Event(json =>
    {
        WriteChunkStart(json);
        json.WriteStartArray("choices");
        json.WriteEndArray();
        WriteUsage(json, n);
        json.WriteEndObject();
    }));

    /// <summary>The non-streaming answer: the same text a stream of <paramref name="chunks"/> chunks carries.</summary>
    public static byte[] Completion(int chunks) => Completions.GetOrAdd(chunks, static n => Json(json =>
    {
        json.WriteStartObject();
        json.WriteString("id", Id);
        json.WriteString("object", "chat.completion");
        json.WriteNumber("created", Created);
        json.WriteString("model", Model);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", "assistant");
        json.WriteString("content", string.Concat(Enumerable.Range(0, n).Select(i => Words[i % Words.Length])));
        json.WriteNull("refusal");
        json.WriteEndObject();
        json.WriteNull("logprobs");
        json.WriteString("finish_reason", "stop");
        json.WriteEndObject();
        json.WriteEndArray();
        WriteUsage(json, n);
        json.WriteEndObject();
    }));

    static void WriteChunk(Utf8JsonWriter json, string content, bool withRole)
    {
        WriteChunkStart(json);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("delta");
        if (withRole)
            json.WriteString("role", "assistant");
        json.WriteString("content", content);
        json.WriteEndObject();
        json.WriteNull("logprobs");
        json.WriteNull("finish_reason");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    static void WriteChunkStart(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id", Id);
        json.WriteString("object", "chat.completion.chunk");
        json.WriteNumber("created", Created);
        json.WriteString("model", Model);
    }

    static void WriteUsage(Utf8JsonWriter json, int completionTokens)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", PromptTokens);
        json.WriteNumber("completion_tokens", completionTokens);
        json.WriteNumber("total_tokens", PromptTokens + completionTokens);
        json.WriteEndObject();
    }

    static byte[] Event(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write("data: "u8);
        buffer.Write(Json(write));
        buffer.Write("\n\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
            write(json);
        return buffer.WrittenSpan.ToArray();
    }
}
