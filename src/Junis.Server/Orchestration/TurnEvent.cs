using System.Text.Json;

namespace Junis.Server.Orchestration;

/// <summary>
/// What happens during one turn, in order. Streaming writes each event as a chunk when it happens;
/// non-streaming folds them into one completion. The turn's end is not an event: the surface ends its <see cref="TurnScope"/>. <c>Choice</c> is the index of the generation (n &gt; 1).
/// </summary>
public abstract record TurnEvent;

/// <summary>
/// What the model's server said about its answer: its request id, <c>system_fingerprint</c>, <c>service_tier</c>; and
/// the provider answering, when it is named (see <c>ModelProviders</c>).
/// </summary>
public sealed record AnswerInfo(string? RequestId, string? SystemFingerprint, string? ServiceTier, string? Provider = null) : TurnEvent
{
    /// <summary>Whether the model opened with no content, a refusal or a call to come (<see cref="Llm.AnswerMetadata.OpensWithoutWords"/>).</summary>
    public bool OpensWithoutWords { get; init; }
}

/// <summary>Words of the reply, with the log probabilities of their tokens when the caller asked for them.</summary>
public sealed record TextDelta(int Choice, string Text, JsonElement? Logprobs = null) : TurnEvent;

/// <summary>Words of the model's refusal to answer.</summary>
public sealed record RefusalDelta(int Choice, string Text, JsonElement? Logprobs = null) : TurnEvent;

/// <summary>The first delta of a tool call: its id, name, and the arguments known so far (possibly all of them).</summary>
/// <param name="Choice">The generation it belongs to.</param>
/// <param name="Index">The call's place among the generation's calls.</param>
/// <param name="Id">The call's id, the model's or one made for it.</param>
/// <param name="Name">The function called.</param>
/// <param name="Arguments">The arguments' text so far, as the model wrote it.</param>
/// <param name="Legacy">Made as a legacy <c>function_call</c>, and so to be passed on.</param>
public sealed record ToolCallStarted(int Choice, int Index, string Id, string Name, string Arguments, bool Legacy = false) : TurnEvent;

/// <summary>More of a tool call's arguments, as the model produces them.</summary>
public sealed record ToolCallArguments(int Choice, int Index, string Fragment) : TurnEvent;

/// <summary>Fields of the reply the server passes on as the model wrote them (<c>audio</c>, <c>annotations</c>, …).</summary>
public sealed record OtherReplyFields(int Choice, Dictionary<string, JsonElement> Fields) : TurnEvent;

public sealed record ChoiceFinished(int Choice, string FinishReason) : TurnEvent;

