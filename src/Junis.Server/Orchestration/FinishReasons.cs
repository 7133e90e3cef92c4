using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

public static class FinishReasons
{
    public const string Stop = "stop", Length = "length", ToolCalls = "tool_calls", ContentFilter = "content_filter", FunctionCall = "function_call";

    /// <summary>
    /// The wire value for a finished choice. A reply that calls tools always says <c>tool_calls</c>, even when a
    /// provider said <c>stop</c>: agent loops wait for it; a legacy <c>function_call</c> says so.
    /// </summary>
    public static string ToWire(ChatFinishReason? reason, bool calledTools, bool legacyCall = false) =>
        legacyCall ? FunctionCall
        : calledTools ? ToolCalls
        : reason == ChatFinishReason.Length ? Length
        : reason == ChatFinishReason.ContentFilter ? ContentFilter
        : Stop;
}
