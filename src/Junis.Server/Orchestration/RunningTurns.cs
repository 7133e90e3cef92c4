using System.Buffers.Binary;
using System.Collections.Concurrent;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// The turns this instance is generating, by what makes two requests the same turn (<see cref="TurnKey"/>), so that a
/// client's retry of a turn still being generated joins it instead of calling the model a second time. Voice clients
/// send the same request again while the first is still generating: LiveKit after 10 s, Pipecat when headers are late,
/// ElevenLabs and the OpenAI SDKs after a 5xx. A retry that reaches another instance does not find the turn here.
/// </summary>
public sealed class RunningTurns
{
    private readonly ConcurrentDictionary<TurnKey, RunningTurn> _turns = new();

    /// <summary>The running turn <paramref name="key"/> names, joined; null when there is none to join.</summary>
    internal RunningTurn? Join(TurnKey key) => _turns.TryGetValue(key, out var running) && running.TryJoin() ? running : null;

    /// <summary>
    /// <paramref name="started"/>, registered as the turn <paramref name="key"/> names; or, when an identical request has
    /// registered one meanwhile, that one, joined (<paramref name="started"/> is then dropped before calling the model).
    /// </summary>
    internal RunningTurn Add(TurnKey key, RunningTurn started)
    {
        while (true)
        {
            if (_turns.TryAdd(key, started))
                return started.Registered();
            if (_turns.TryGetValue(key, out var other))
            {
                if (other.TryJoin())
                    return other;
                // Every caller of that one has gone: it is being stored as interrupted, and this request starts anew.
                if (_turns.TryUpdate(key, started, other))
                    return started.Registered();
            }
        }
    }

    /// <summary>Forgets <paramref name="turn"/>, once stored; a turn that has replaced it stays.</summary>
    internal void Remove(TurnKey key, RunningTurn turn) => _turns.TryRemove(new KeyValuePair<TurnKey, RunningTurn>(key, turn));

    /// <summary>How many turns are running.</summary>
    internal int Count => _turns.Count;
}

/// <summary>
/// What makes two requests the same turn: the same organization and API key (unrelated callers never share a
/// generation), the same conversation name or none, the same input (the chained hash of the transcript up to and
/// including it, alike for a replay, a continuation or a new session of the same request), the same instructions (two
/// agents sharing a key may open with the same words), the same agent, number of choices, and streaming or not.
/// </summary>
internal readonly struct TurnKey(TurnRequest request, byte[] inputHash) : IEquatable<TurnKey>
{
    private readonly TurnRequest _request = request;
    private readonly byte[] _inputHash = inputHash;

    public bool Equals(TurnKey other)
    {
        TurnRequest a = _request, b = other._request;
        if (ReferenceEquals(a, b))
            return true;
        return _inputHash.AsSpan().SequenceEqual(other._inputHash)
            && a.OrganizationId == b.OrganizationId && a.ApiKeyId == b.ApiKeyId
            && string.Equals(a.ConversationId, b.ConversationId, StringComparison.Ordinal)
            && a.AgentId == b.AgentId && a.Choices == b.Choices && a.Streaming == b.Streaming
            && Instructions(a.Messages).SequenceEqual(Instructions(b.Messages), StringComparer.Ordinal);
    }

    public override bool Equals(object? obj) => obj is TurnKey other && Equals(other);

    // The input hash is a SHA-256: any eight of its bytes spread the keys; the rest is compared only on a match.
    public override int GetHashCode() =>
        HashCode.Combine(_inputHash.Length >= sizeof(long) ? BinaryPrimitives.ReadInt64LittleEndian(_inputHash) : 0, _request.ApiKeyId);

    private static IEnumerable<string> Instructions(IReadOnlyList<ChatMessage> messages) =>
        messages.Where(m => m.Role == ChatRole.System || m.Role == Roles.Developer).Select(m => m.Text);
}
