using Junis.Server.ChatCompletions;

namespace Junis.Server.Orchestration;

/// <summary>
/// What happens during one turn, in order. Streaming writes each event as a chunk when it happens;
/// non-streaming folds them into one completion. <c>Choice</c> is the index of the generation (n &gt; 1).
/// </summary>
public abstract record TurnEvent;

public sealed record TextDelta(int Choice, string Text) : TurnEvent;

/// <summary>The first delta of a tool call: its id, name, and the arguments known so far (possibly all of them).</summary>
public sealed record ToolCallStarted(int Choice, int Index, string Id, string Name, string Arguments) : TurnEvent;

/// <summary>More of a tool call's arguments, as the model produces them.</summary>
public sealed record ToolCallArguments(int Choice, int Index, string Fragment) : TurnEvent;

public sealed record ChoiceFinished(int Choice, string FinishReason) : TurnEvent;

/// <summary>The turn is over and stored; nothing follows.</summary>
public sealed record TurnFinished(Usage Usage) : TurnEvent;
