using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Junis.Server.Sessions;

/// <summary>
/// A message as the transcript hash sees it: role, text, the tool calls it makes or answers, and its content parts
/// when they hold more than text (each counts by a digest of what it holds).
/// </summary>
public sealed record TranscriptMessage(
    string Role, string? Content, IReadOnlyList<(string Name, string Arguments)>? ToolCalls = null, IReadOnlyList<JsonElement>? Parts = null);

/// <summary>
/// Hashes of a conversation's non-system messages, chained: the hash after a message is SHA-256 of the hash
/// before it followed by the message's canonical form. Chaining gives the hash of every prefix of a request in
/// one pass, and lets a stored session's hash move forward turn by turn without reading its messages again.
/// </summary>
public static class TranscriptHash
{
    /// <summary>The hash of an empty transcript.</summary>
    public static byte[] Empty { get; } = SHA256.HashData("junis-transcript-v1"u8);

    public static byte[] Extend(byte[] previous, TranscriptMessage message)
    {
        // One buffer and writer per thread, reused: a turn hashes every message of its request.
        var scratch = t_scratch ??= new Scratch();
        scratch.Buffer.ResetWrittenCount();
        scratch.Buffer.Write(previous);
        scratch.Json.Reset(scratch.Buffer);
        WriteCanonical(scratch.Json, message);
        var hash = SHA256.HashData(scratch.Buffer.WrittenSpan);
        if (scratch.Buffer.Capacity > MaxKeptBuffer)
            t_scratch = null; // do not keep a long message's buffer for good
        return hash;
    }

    private const int MaxKeptBuffer = 64 * 1024;

    [ThreadStatic]
    private static Scratch? t_scratch;

    private sealed class Scratch
    {
        public ArrayBufferWriter<byte> Buffer { get; } = new(1024);
        public Utf8JsonWriter Json { get; }

        public Scratch() => Json = new Utf8JsonWriter(Buffer, CanonicalJson);
    }

    public static byte[] Extend(byte[] previous, IEnumerable<TranscriptMessage> messages)
    {
        var hash = previous;
        foreach (var message in messages)
            hash = Extend(hash, message);
        return hash;
    }

    /// <summary>
    /// The canonical form: a compact JSON array <c>[role, text, [[name, arguments], …]]</c>. Null text is empty;
    /// tool call ids are left out because clients may re-create them. A message with images, audio or files adds a
    /// fourth element, the digest of each such part in order (see <see cref="PartDigest"/>), so conversations that
    /// differ only in an image stay apart; a message of text alone hashes as it always has. Nothing else counts.
    /// </summary>
    public static void WriteCanonical(IBufferWriter<byte> output, TranscriptMessage message)
    {
        using var json = new Utf8JsonWriter(output, CanonicalJson);
        WriteCanonical(json, message);
    }

    private static void WriteCanonical(Utf8JsonWriter json, TranscriptMessage message)
    {
        json.WriteStartArray();
        json.WriteStringValue(message.Role);
        json.WriteStringValue(message.Content ?? "");
        json.WriteStartArray();
        foreach (var (name, arguments) in message.ToolCalls ?? [])
        {
            json.WriteStartArray();
            json.WriteStringValue(name);
            json.WriteStringValue(arguments);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        if (message.Parts?.Where(IsMedia).ToList() is { Count: > 0 } media)
        {
            json.WriteStartArray();
            foreach (var part in media)
                json.WriteStringValue(PartDigest(part));
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.Flush();
    }

    private static bool IsMedia(JsonElement part) =>
        !(part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type) && type.ValueEquals("text"));

    /// <summary>
    /// SHA-256, in hex, of the part written as compact JSON with the properties of every object in ordinal order: the same
    /// part gives the same digest however a client spaces or orders its JSON.
    /// </summary>
    public static string PartDigest(JsonElement part)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, CanonicalJson))
            WriteSorted(json, part);
        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    private static void WriteSorted(Utf8JsonWriter json, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                json.WriteStartObject();
                foreach (var property in value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    json.WritePropertyName(property.Name);
                    WriteSorted(json, property.Value);
                }
                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                    WriteSorted(json, item);
                json.WriteEndArray();
                break;
            default:
                value.WriteTo(json);
                break;
        }
    }

    // Minimal escaping: text is hashed as the UTF-8 it is, quotes and backslashes escaped as JSON requires.
    private static readonly JsonWriterOptions CanonicalJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
