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
}

/// <summary>
/// What the model's server says about its answer, on the first update that knows it: the id it gave the request
/// (its <c>x-request-id</c> header), <c>system_fingerprint</c> and <c>service_tier</c>.
/// </summary>
public sealed class AnswerMetadata(string? requestId, string? systemFingerprint, string? serviceTier) : AIContent
{
    public string? RequestId { get; } = requestId;
    public string? SystemFingerprint { get; } = systemFingerprint;
    public string? ServiceTier { get; } = serviceTier;
}
