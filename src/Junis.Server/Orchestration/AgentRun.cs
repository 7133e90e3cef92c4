using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Junis.Server.Agents;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Junis.Server.Telemetry;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// One generation of a turn answered by an organization's agents. An <c>LLM_AGENT</c> calls its model with its
/// instruction as the system prompt, and when the model calls <c>transfer_to_agent</c> the named sub-agent answers in its
/// place; the workflow agents run their sub-agents in order, at once, or in a loop (AgentRun.Workflows.cs). Agents that
/// speak to the caller stream their words as the turn's events; the others are heard only through their outputs, which
/// later instructions name as <c>{output_key}</c>. The server's own functions never reach the caller as tool calls:
/// every model call is kept as an <see cref="AgentStep"/> for the session's record, and usage sums them all.
/// </summary>
internal sealed partial class AgentRun(
    OrganizationAgents agents, AgentRunServices services, int choice, List<ChatMessage> conversation, ChatOptions callerOptions,
    bool streaming, ChoiceResult result)
{
    public const string TransferFunction = "transfer_to_agent", ExitLoopFunction = "exit_loop";
    private static readonly HashSet<string> ServerFunctions = [TransferFunction, ExitLoopFunction];

    private readonly ConcurrentDictionary<string, string> _outputs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly List<AgentStep> _steps = [];
    private readonly UsageDetails _usage = new() { InputTokenCount = 0, OutputTokenCount = 0, TotalTokenCount = 0 };

    /// <summary>The turn's span, which each agent's is a child of, whichever agent handed over to it.</summary>
    private ActivityContext _turnSpan;

    /// <summary>Runs <paramref name="agent"/> for the caller: what the caller hears, as it is said, then <paramref name="then"/>'s events.</summary>
    public async IAsyncEnumerable<TurnEvent> RunAsync(AgentDefinition agent, Func<IEnumerable<TurnEvent>> then, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        result.AgentSteps = _steps;
        result.ModelUsage = _usage;
        _turnSpan = Activity.Current?.Context ?? default;
        await foreach (var e in RunAsync(agent, speaks: true, loop: null, new StringBuilder(), cancellationToken))
        {
            if (e is TextDelta words)
                result.Text.Append(words.Text);
            else if (e is RefusalDelta refusal)
                result.Refusal.Append(refusal.Text);
            if (result.FirstContentAt == 0 && e is TextDelta or RefusalDelta or ToolCallStarted)
                result.FirstContentAt = System.Diagnostics.Stopwatch.GetTimestamp();
            yield return e;
        }
        foreach (var e in then())
            yield return e;
    }

    /// <summary>Runs one agent; what it says is added to <paramref name="said"/>, and yielded when it <paramref name="speaks"/> to the caller.</summary>
    private IAsyncEnumerable<TurnEvent> RunAsync(AgentDefinition agent, bool speaks, Loop? loop, StringBuilder said, CancellationToken cancellationToken) =>
        agent.AgentType switch
        {
            AgentTypes.Sequential => SequenceAsync(agent, speaks, loop, said, cancellationToken),
            AgentTypes.Parallel => AtOnceAsync(agent, speaks, loop, said, cancellationToken),
            AgentTypes.Loop => LoopAsync(agent, speaks, said, cancellationToken),
            _ => CallModelAsync(agent, speaks, loop, said, cancellationToken),
        };

    private async IAsyncEnumerable<TurnEvent> CallModelAsync(
        AgentDefinition agent, bool speaks, Loop? loop, StringBuilder said, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var calls = _calls.AddOrUpdate(agent.Name, 1, (_, made) => made + 1);
        if (agent.MaxLlmCalls is { } limit && calls > limit)
        {
            // An agent that may call its model no more says nothing more; a loop waiting on it ends.
            services.LimitReached(agent.Name, limit);
            loop?.Exit();
            yield break;
        }

        // The agent's span, current as its model is called: the call's own span is its child.
        using var span = ServerTelemetry.Source.StartActivity("invoke_agent " + agent.Name, ActivityKind.Internal, _turnSpan)?
            .SetTag("gen_ai.operation.name", "invoke_agent").SetTag("gen_ai.agent.name", agent.Name).SetTag("gen_ai.agent.id", agent.Id);
        var subAgents = agents.SubAgentsOf(agent);
        var input = InputFor(agent);
        var options = OptionsFor(agent, speaks, subAgents, loop);
        var output = new ModelOutput(new StreamedCalls(speaks ? result.ToolCalls.Count : 0, ServerFunctions));
        var model = services.ModelFor(agent);
        await foreach (var e in ModelOutput.GatherAsync(choice, ModelOutput.Call(model, input, options, streaming, cancellationToken), output, cancellationToken))
        {
            if (speaks)
                yield return e;
        }

        var serverCalls = output.Calls.ServerSide();
        var clientCalls = output.Calls.Complete().ToList();
        said.Append(output.Text);
        Record(agent, input, output, serverCalls, clientCalls);
        if (speaks)
        {
            result.Agent = agent.Name;
            result.Provider = output.Provider;
            result.ToolCalls.AddRange(clientCalls);
            result.LegacyCalls |= output.Calls.AnyLegacy;
            result.FinishReason = clientCalls.Count == 0 && serverCalls.Count > 0 ? ChatFinishReason.Stop : output.FinishReason;
        }
        if (serverCalls.Any(c => c.Name == ExitLoopFunction))
            loop?.Exit();
        if (serverCalls.FirstOrDefault(c => c.Name == TransferFunction) is { } transfer)
        {
            if (TransferTarget(transfer, subAgents) is { } target)
            {
                span?.SetTag(ServerTelemetry.Attributes.TransferredTo, target.Name);
                await foreach (var e in RunAsync(target, speaks, loop, said, cancellationToken))
                    yield return e;
            }
            else
            {
                services.UnknownTransfer(agent.Name, transfer.Arguments);
            }
        }
        if (agent.OutputKey is { } key)
            _outputs[key] = said.ToString();
    }

    /// <summary>The agent's instruction, its <c>{output_key}</c>s filled, before the caller's conversation.</summary>
    private List<ChatMessage> InputFor(AgentDefinition agent)
    {
        var input = new List<ChatMessage>(conversation.Count + 1);
        if (agent.Instruction.Length > 0)
        {
            var instruction = agent.Instruction;
            foreach (var key in agents.OutputKeys)
                instruction = instruction.Replace("{" + key + "}", _outputs.GetValueOrDefault(key, ""), StringComparison.Ordinal);
            input.Add(new ChatMessage(ChatRole.System, instruction));
        }
        input.AddRange(conversation);
        return input;
    }

    /// <summary>
    /// The caller's options, with the agent's model and sampling where the caller set none, its output cap, and its
    /// functions. Only an agent that speaks to the caller is offered the caller's tools: their calls go to the caller.
    /// </summary>
    private ChatOptions OptionsFor(AgentDefinition agent, bool speaks, IReadOnlyList<AgentDefinition> subAgents, Loop? loop)
    {
        var options = callerOptions.Clone();
        options.ModelId = agent.Model;
        options.Temperature ??= (float?)agent.Temperature;
        if (agent.MaxOutputTokens is { } cap)
            options.MaxOutputTokens = Math.Min(options.MaxOutputTokens ?? cap, cap);

        var tools = speaks ? [.. options.Tools ?? []] : new List<AITool>();
        if (!speaks)
        {
            options.ToolMode = null;
            options.AdditionalProperties?.Remove("tool_choice");
        }
        if (subAgents.Count > 0)
            tools.Add(AgentRunServices.TransferFunctionFor(subAgents));
        if (loop is not null)
            tools.Add(AgentRunServices.ExitLoop);
        options.Tools = tools.Count > 0 ? tools : null;
        if (tools.Count > 0)
            options.ToolMode ??= ChatToolMode.Auto;
        return options;
    }

    private static AgentDefinition? TransferTarget(StoredToolCall transfer, IReadOnlyList<AgentDefinition> subAgents)
    {
        try
        {
            using var arguments = JsonDocument.Parse(transfer.Arguments);
            return arguments.RootElement.ValueKind == JsonValueKind.Object
                && arguments.RootElement.TryGetProperty("agent_name", out var name) && name.ValueKind == JsonValueKind.String
                ? subAgents.FirstOrDefault(a => a.Name == name.GetString())
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Keeps the call as a step, and adds its usage: as the model reported it, else counted.</summary>
    private void Record(AgentDefinition agent, List<ChatMessage> input, ModelOutput output, IReadOnlyList<StoredToolCall> serverCalls, List<StoredToolCall> clientCalls)
    {
        var text = output.Text.ToString();
        IReadOnlyList<StoredToolCall> allCalls = [.. serverCalls, .. clientCalls];
        var usage = new UsageDetails
        {
            InputTokenCount = output.ModelUsage?.InputTokenCount ?? services.Tokens.CountPrompt(input.Select(m => (m.Role.Value, (string?)m.Text))),
            OutputTokenCount = output.ModelUsage?.OutputTokenCount
                ?? services.Tokens.Count(text) + allCalls.Sum(c => services.Tokens.Count(c.Name) + services.Tokens.Count(c.Arguments)),
            CachedInputTokenCount = output.ModelUsage?.CachedInputTokenCount,
            ReasoningTokenCount = output.ModelUsage?.ReasoningTokenCount,
            AdditionalCounts = output.ModelUsage?.AdditionalCounts,
        };
        usage.TotalTokenCount = usage.InputTokenCount + usage.OutputTokenCount;
        lock (_steps)
        {
            _steps.Add(new AgentStep(agent.Name, text.Length > 0 ? text : null, allCalls.Count > 0 ? allCalls : null, agent.OutputKey));
            _usage.Add(usage);
        }
    }

    /// <summary>The loop an agent runs in, which any of its agents can end by calling <c>exit_loop</c>.</summary>
    private sealed class Loop
    {
        private volatile bool _exited;

        public bool Exited => _exited;

        public void Exit() => _exited = true;
    }
}
