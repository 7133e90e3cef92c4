using System.Text;
using System.Text.Json;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// Tool calls as they stream in: pieces gathered by the model's index, each call announced (id, name, the
/// arguments so far) once its name is known, its later argument pieces passed on as they come.
/// </summary>
internal sealed class StreamedCalls
{
    private static readonly JsonSerializerOptions CompactJson = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };
    private readonly Dictionary<int, PendingCall> _byModelIndex = [];
    private readonly List<PendingCall> _announced = [];

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
        if (call.Name is null)
            return null; // not announced without a name: SDK stream helpers reject a nameless first delta
        call.Id ??= Ids.Random("call_");
        call.Index = _announced.Count;
        _announced.Add(call);
        return new ToolCallStarted(choice, call.Index.Value, call.Id, call.Name, call.Arguments.ToString(), call.Legacy);
    }

    /// <summary>A call the model handed over whole (providers that do not stream calls).</summary>
    public TurnEvent AddWhole(int choice, FunctionCallContent call)
    {
        var arguments = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), CompactJson);
        return Add(choice, new ToolCallFragment(-1 - _byModelIndex.Count, call.CallId, call.Name, arguments))!;
    }

    /// <summary>The calls, their arguments as the model wrote them ("" too: some models write that for a call without any).</summary>
    public IEnumerable<StoredToolCall> Complete() =>
        _announced.Select(c => new StoredToolCall(c.Id!, c.Name!, c.Arguments.ToString()));

    /// <summary>Whether the model made a call in the legacy form (<c>function_call</c>).</summary>
    public bool AnyLegacy => _announced.Any(c => c.Legacy);

    private sealed class PendingCall
    {
        public string? Id { get; set; }
        public string? Name { get; set; }
        public int? Index { get; set; }
        public bool Legacy { get; set; }
        public StringBuilder Arguments { get; } = new();
    }
}
