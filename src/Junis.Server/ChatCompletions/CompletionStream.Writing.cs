using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Junis.Server.ChatCompletions;

// How a stream's events are written into the response pipe (data lines, serialized in place), and flushed while the
// model thinks.
public sealed partial class CompletionStream
{
    /// <summary>
    /// A chunk carrying what the model wrote as JSON (log probabilities, other fields of its reply), written by hand in
    /// the shape of <see cref="ChatCompletionChunk"/>: the generated code writes raw JSON only through the serializer's
    /// general path, which would slow every chunk of every stream, not only these (bench/ANALYSIS.md, "Answer fields").
    /// </summary>
    private void WriteChunkWithJson(PipeWriter pipe, Utf8JsonWriter json, int choice, string? textName, string? text,
        JsonElement? logprobs, Dictionary<string, JsonElement>? fields)
    {
        pipe.Write("data: "u8);
        json.Reset(pipe);
        json.WriteStartObject();
        json.WriteString("id"u8, identity.Id);
        json.WriteString("object"u8, "chat.completion.chunk"u8);
        json.WriteNumber("created"u8, identity.Created);
        json.WriteString("model"u8, identity.Model);
        json.WriteStartArray("choices"u8);
        json.WriteStartObject();
        json.WriteNumber("index"u8, choice);
        json.WriteStartObject("delta"u8);
        if (text is not null)
            json.WriteString(textName!, text);
        foreach (var (name, value) in fields ?? [])
        {
            json.WritePropertyName(name);
            value.WriteTo(json);
        }
        json.WriteEndObject();
        json.WritePropertyName("logprobs"u8);
        if (logprobs is { } tokens)
            tokens.WriteTo(json);
        else
            json.WriteNullValue();
        json.WriteNull("finish_reason"u8);
        json.WriteEndObject();
        json.WriteEndArray();
        if (_serviceTier is not null)
            json.WriteString("service_tier"u8, _serviceTier);
        if (_systemFingerprint is not null)
            json.WriteString("system_fingerprint"u8, _systemFingerprint);
        json.WriteEndObject();
        json.Flush();
        pipe.Write("\n\n"u8);
    }

    /// <summary>
    /// <c>data: {json}\n\n</c>, serialized into the pipe. The writer brings its own encoder, so the context's options
    /// need none: with <see cref="ChatCompletionsJson.Default"/>, whose options are the generated ones, the generated code writes
    /// each chunk directly rather than through the serializer's general path.
    /// </summary>
    private static void WriteEvent<T>(PipeWriter pipe, Utf8JsonWriter json, T value, JsonTypeInfo<T> type)
    {
        pipe.Write("data: "u8);
        json.Reset(pipe);
        JsonSerializer.Serialize(json, value, type);
        json.Flush();
        pipe.Write("\n\n"u8);
    }

    private static void WriteData(PipeWriter pipe, ReadOnlySpan<byte> data)
    {
        pipe.Write("data: "u8);
        pipe.Write(data);
        pipe.Write("\n\n"u8);
    }

    /// <summary>
    /// Flushes while the next event is on its way, then reads it. A flush that fails (the client gone) ends the stream,
    /// but only once that event has settled: the events cannot be disposed of while a read of them is pending.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // no allocation per wait for the model
    private static async ValueTask<bool> FlushThenReadAsync(PipeWriter pipe, ValueTask<bool> next, CancellationToken cancellationToken)
    {
        try
        {
            await pipe.FlushAsync(cancellationToken);
        }
        catch (Exception)
        {
            try
            {
                await next;
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                // the model call ends with the request
            }
            throw;
        }
        return await next;
    }
}
