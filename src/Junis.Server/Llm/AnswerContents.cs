using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

// What a model's answer can hold beyond text, tool calls and usage, as contents of its updates. Microsoft.Extensions.AI
// has no types for these; any IChatClient behind the orchestrator may produce them, and it passes each one on.

/// <summary>The model declining to answer (OpenAI's <c>refusal</c>), in pieces as they stream, in place of text.</summary>
public sealed class RefusalContent(string text) : AIContent
{
    public string Text { get; } = text;
}

/// <summary>
/// Log probabilities of the tokens in the same update, as the model wrote them: OpenAI's <c>choices[].logprobs</c>
/// object, <c>{"content":[{token, logprob, bytes, top_logprobs}, …], "refusal":[…]}</c>.
/// </summary>
public sealed class LogprobsContent(JsonElement logprobs) : AIContent
{
    public JsonElement Logprobs { get; } = logprobs;

    /// <summary>Two such objects as one: their <c>content</c> token lists one after the other, and their <c>refusal</c> lists.</summary>
    public static JsonElement Concat(JsonElement first, JsonElement second) => Concat([first, second]);

    public static JsonElement Concat(IReadOnlyList<JsonElement> pieces)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var list in (ReadOnlySpan<string>)["content", "refusal"])
            {
                json.WritePropertyName(list);
                var tokens = pieces.Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty(list, out var l) && l.ValueKind == JsonValueKind.Array)
                    .SelectMany(p => p.GetProperty(list).EnumerateArray()).ToList();
                if (tokens.Count == 0 && !pieces.Any(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty(list, out var l) && l.ValueKind == JsonValueKind.Array))
                {
                    json.WriteNullValue();
                    continue;
                }
                json.WriteStartArray();
                foreach (var token in tokens)
                    token.WriteTo(json);
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        return JsonElement.Parse(buffer.WrittenSpan);
    }
}

/// <summary>
/// What the model's server says about its answer, on the first update that knows it: the id it gave the request
/// (its <c>x-request-id</c> header), <c>system_fingerprint</c> and <c>service_tier</c>, and the name of the
/// provider (<see cref="ModelProviders"/>) that answers.
/// </summary>
public sealed class AnswerMetadata(string? requestId, string? systemFingerprint, string? serviceTier) : AIContent
{
    public string? Provider { get; init; }

    /// <summary>
    /// Whether the model opened its answer with no content and a refusal or a call to come (OpenAI opens a refusal
    /// with <c>{"content":null,"refusal":""}</c>), rather than with the empty content that words begin with.
    /// </summary>
    public bool OpensWithoutWords { get; init; }

    public string? RequestId { get; } = requestId;
    public string? SystemFingerprint { get; } = systemFingerprint;
    public string? ServiceTier { get; } = serviceTier;
}

/// <summary>
/// Fields of the model's reply the server does not act on (<c>audio</c>, <c>annotations</c>, a server's own
/// <c>reasoning_content</c>), as written, for the caller: whole with a whole answer, as they come with a stream.
/// </summary>
public sealed class ReplyFields(Dictionary<string, JsonElement> fields) : AIContent
{
    public Dictionary<string, JsonElement> Fields { get; } = fields;
}
