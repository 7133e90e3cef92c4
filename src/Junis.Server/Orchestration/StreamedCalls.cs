using System.Text;
using System.Text.Json;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// Tool calls as they stream in: pieces gathered by the model's index, each call announced (id, name, the
/// arguments so far) once its name is known, its later argument pieces passed on as they come. Calls of the server's own
/// functions (<paramref name="serverSide"/>) are gathered but never announced: the caller does not hear of them.
/// </summary>
/// <param name="firstIndex">The index the first announced call takes: the calls the caller already heard of this turn.</param>
/// <param name="serverSide">The names of the server's own functions.</param>
internal sealed class StreamedCalls(int firstIndex = 0, IReadOnlySet<string>? serverSide = null)
{
    private static readonly JsonSerializerOptions CompactJson = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };
    private readonly Dictionary<int, PendingCall> _byModelIndex = [];
    private readonly List<PendingCall> _announced = [];
    private List<PendingCall>? _serverSide;

    public TurnEvent? Add(int choice, ToolCallFragment fragment)
    {
        if (!_byModelIndex.TryGetValue(fragment.Index, out var call))
            _byModelIndex[fragment.Index] = call = new PendingCall();
        call.Id ??= fragment.CallId;
        call.Name ??= fragment.Name;
        call.Legacy |= fragment.Legacy;
        call.Arguments.Append(fragment.Arguments);

        if (call.Index is { } index)
            return fragment.Arguments.Length > 0 ? new ToolCallArguments(choice, index, fragment.Arguments) : null;
        if (call.Name is null || call.ServerSide)
            return null; // not announced without a name: SDK stream helpers reject a nameless first delta
        call.Id ??= Ids.Random("call_");
        if (serverSide?.Contains(call.Name) == true)
        {
            call.ServerSide = true;
            (_serverSide ??= []).Add(call);
            return null;
        }
        call.Index = firstIndex + _announced.Count;
        _announced.Add(call);
        return new ToolCallStarted(choice, call.Index.Value, call.Id, call.Name, call.Arguments.ToString(), call.Legacy);
    }

    /// <summary>A call the model handed over whole (providers that do not stream calls).</summary>
    public TurnEvent? AddWhole(int choice, FunctionCallContent call)
    {
        var arguments = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), CompactJson);
        return Add(choice, new ToolCallFragment(-1 - _byModelIndex.Count, call.CallId, call.Name, arguments));
    }

    /// <summary>The calls, their arguments as the model wrote them ("" too: some models write that for a call without any).</summary>
    public IEnumerable<StoredToolCall> Complete() => _announced.Select(Stored);

    /// <summary>The calls of the server's own functions, which the caller never hears of.</summary>
    public IReadOnlyList<StoredToolCall> ServerSide() => _serverSide?.ConvertAll(Stored) ?? [];

    private static StoredToolCall Stored(PendingCall call) => new(call.Id!, call.Name!, call.Arguments.ToString());

    /// <summary>Whether the model made a call in the legacy form (<c>function_call</c>).</summary>
    public bool AnyLegacy => _announced.Any(c => c.Legacy);

    private sealed class PendingCall
    {
        public string? Id { get; set; }
        public string? Name { get; set; }
        public int? Index { get; set; }
        public bool Legacy { get; set; }
        public bool ServerSide { get; set; }
        public StringBuilder Arguments { get; } = new();
    }
}
