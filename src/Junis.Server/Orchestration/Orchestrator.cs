using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Junis.Server.Agents;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Junis.Server.Telemetry;
using Junis.Server.Usage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Orchestration;

/// <summary>
/// Begins one turn: finds its session, sends the system prompt, stored history and the caller's messages to the
/// model, and hands back a <see cref="TurnScope"/> whose events are the model's updates the moment they arrive.
/// An organization with an orchestrator agent is answered by it (<see cref="AgentRun"/>) instead of the server's own
/// model and prompt. The surface ends the scope: committed once answered, abandoned otherwise.
/// </summary>
public sealed class Orchestrator(
    IChatClient model, TokenCounter tokens, SessionResolver sessions, TurnWriter writer, SessionActivity activity, KeywordTools keywordTools,
    AgentDirectory agentDirectory, RunningTurns running, UsageLedger usage, ServerMetrics metrics, IServiceProvider services,
    IOptions<OrchestratorOptions> options, IOptions<StreamingOptions> streaming, ILogger<Orchestrator> logger)
{
    private readonly TurnServices _services = new(tokens, writer, activity, keywordTools, usage, metrics, logger);
    private readonly AgentRunServices _agentServices = new(services, tokens, logger);

    /// <summary>
    /// The agent of <paramref name="organizationId"/> that <paramref name="id"/> names, if a caller may invoke it directly:
    /// an active <c>LLM_AGENT</c> of that organization. Otherwise why not, as <see cref="AgentInvocation"/> says.
    /// </summary>
    public AgentInvocation Invocable(Guid organizationId, string id)
    {
        var agent = Guid.TryParse(id, out var given) ? agentDirectory.For(organizationId)?.WithId(given) : null;
        return agent switch
        {
            null => new AgentInvocation(null, null, $"No agent '{id}'.", Found: false),
            { AgentType: not AgentTypes.Llm } => new AgentInvocation(null, null,
                $"Only LLM_AGENT type agents can be invoked directly; '{agent.Name}' is a {agent.AgentType}. Invoke the LLM_AGENT that leads it, or the organization's orchestrator through /v1/chat/completions.", Found: true),
            { IsActive: false } => new AgentInvocation(null, null, $"The agent '{agent.Name}' is not active.", Found: true),
            _ => new AgentInvocation(agent.Id, agent.Name, null, Found: true),
        };
    }

    /// <summary>
    /// The turn, its session found; the model is called when its events are first read. The same turn still being
    /// generated here (a client's retry, see <see cref="TurnKey"/>) is joined instead: its session, what it has generated
    /// so far, then the rest as it comes. <paramref name="cancellationToken"/> is the caller's: when every caller of the
    /// turn has gone, the model is stopped.
    /// </summary>
    public async ValueTask<TurnScope> BeginAsync(TurnRequest request, CancellationToken cancellationToken)
    {
        var begun = Stopwatch.GetTimestamp();
        // The turn's span, from its session's lookup to its reply stored; the model's calls are its children.
        var span = ServerTelemetry.Source.StartActivity("turn")?.SetTag(ServerTelemetry.Attributes.Streaming, request.Streaming);
        try
        {
            var answeredBy = AnsweredBy(request);
            var turn = await sessions.ResolveAsync(new TurnOwner(request.OrganizationId, request.ApiKeyId, request.ConversationId, request.UserId), request.Messages);
            span?.SetTag("gen_ai.conversation.id", turn.SessionId);
            var key = new TurnKey(request, turn.InputHash);
            if (running.Join(key) is { } joined)
                return Joined(joined, span, cancellationToken);
            // An agent's instruction is its system prompt, in place of the server's.
            var input = BuildInput(request.Messages, turn.History, answeredBy is null ? options.Value.SystemPrompt : null);
            // Only a request that offers tools can hear a keyword call.
            IReadOnlyCollection<string> justUsed = request.Options.Tools is { Count: > 0 } ? KeywordTools.ToolsJustUsed(input) : Array.Empty<string>();
            var choices = new ChoiceResult[request.Choices];
            for (var i = 0; i < choices.Length; i++)
                choices[i] = new ChoiceResult();

            // The model is called on the turn's own token, not the caller's: a retry may be listening when the first caller goes.
            var generation = new RunningTurn(turn, input, choices, _services, running, key, begun, span);
            var token = generation.Token;
            var events = choices.Length == 1
                ? GenerateAsync(0, request, input, request.Options, justUsed, choices[0], answeredBy, token)
                : Merge([.. choices.Select((choice, i) => GenerateAsync(i, request, input, request.Options.Clone(), justUsed, choice, answeredBy, token))], token);
            if (request.Streaming && streaming.Value.BufferWords is { Length: > 0 } words)
                events = BufferWords.Before(events, words, TimeSpan.FromMilliseconds(streaming.Value.BufferAfterMs), () => choices[0].Preamble = words, token);
            generation.Generate(events);
            var registered = running.Add(key, generation);
            return registered == generation ? new TurnScope(generation, begun: true, cancellationToken) : Joined(registered, span, cancellationToken);
        }
        catch (Exception e)
        {
            span?.SetStatus(ActivityStatusCode.Error, e.GetType().Name).Dispose();
            throw;
        }
    }

    /// <summary>A retry's part in the turn it repeats: its span says so and ends, the running turn's own goes on.</summary>
    private static TurnScope Joined(RunningTurn running, Activity? span, CancellationToken cancellationToken)
    {
        span?.SetTag(ServerTelemetry.Attributes.Joined, true).Dispose();
        return new TurnScope(running, begun: false, cancellationToken);
    }

    /// <summary>The agent the request names, or else its organization's orchestrator; null when neither is.</summary>
    private (OrganizationAgents, AgentDefinition)? AnsweredBy(TurnRequest request)
    {
        if (agentDirectory.For(request.OrganizationId) is not { } agents)
            return request.AgentId is null ? null : throw new InvalidOperationException("The agent invoked is not loaded.");
        var agent = request.AgentId is { } id ? agents.WithId(id) ?? throw new InvalidOperationException("The agent invoked is not loaded.") : agents.Orchestrator;
        return agent is null ? null : (agents, agent);
    }

    private static List<ChatMessage> BuildInput(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ChatMessage> history, string? systemPrompt)
    {
        var input = new List<ChatMessage>(messages.Count + history.Count + 1);
        if (systemPrompt is { Length: > 0 })
            input.Add(new ChatMessage(ChatRole.System, systemPrompt));
        var historyAdded = history.Count == 0;
        foreach (var message in messages)
        {
            // Stored history goes after the caller's instructions and before its conversation.
            if (!historyAdded && message.Role != ChatRole.System && message.Role != Roles.Developer)
            {
                input.AddRange(history);
                historyAdded = true;
            }
            input.Add(message);
        }
        if (!historyAdded)
            input.AddRange(history);
        return input;
    }

    private IAsyncEnumerable<TurnEvent> GenerateAsync(
        int choice, TurnRequest request, List<ChatMessage> input, ChatOptions chatOptions, IReadOnlyCollection<string> justUsed,
        ChoiceResult result, (OrganizationAgents Agents, AgentDefinition Agent)? answeredBy, CancellationToken cancellationToken)
    {
        if (answeredBy is var (agents, agent))
        {
            var run = new AgentRun(agents, _agentServices, choice, input, chatOptions, request.Streaming, result);
            return run.RunAsync(agent, () => Finish(choice, result, chatOptions, justUsed), cancellationToken);
        }
        // The finish follows the model's updates in the same iterator: no second one for every token (bench/ANALYSIS.md, "Agents").
        return ModelOutput.GatherAsync(choice, ModelOutput.Call(model, input, chatOptions, request.Streaming, cancellationToken), result, cancellationToken, then: () =>
        {
            result.ToolCalls.AddRange(result.Calls.Complete());
            result.LegacyCalls = result.Calls.AnyLegacy;
            return Finish(choice, result, chatOptions, justUsed);
        });
    }

    /// <summary>The end of a generation: a keyword tool call when the reply asks for one, then its finish reason.</summary>
    private IEnumerable<TurnEvent> Finish(int choice, ChoiceResult result, ChatOptions chatOptions, IReadOnlyCollection<string> justUsed)
    {
        // What the assistant said may itself be a tool call: a farewell ends the call, a transfer transfers it. Not a
        // tool the model calls now, or one the conversation has just used: a client's tool loop would hear it again.
        if (chatOptions.Tools is { Count: > 0 } tools
            && keywordTools.Detect(result.Reply, tools, [.. result.ToolCalls.Select(c => c.Name), .. justUsed]) is { } detected)
        {
            result.ToolCalls.Add(detected);
            yield return new ToolCallStarted(choice, result.ToolCalls.Count - 1, detected.Id, detected.Name, detected.Arguments);
        }
        result.WireFinishReason = FinishReasons.ToWire(result.FinishReason, result.ToolCalls.Count > 0, result.LegacyCalls);
        yield return new ChoiceFinished(choice, result.WireFinishReason);
    }

    /// <summary>Interleaves n generations as their events arrive; the first failure cancels the others.</summary>
    private static async IAsyncEnumerable<TurnEvent> Merge(
        IReadOnlyList<IAsyncEnumerable<TurnEvent>> generations, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<TurnEvent>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pumps = generations.Select(async generation =>
        {
            try
            {
                await foreach (var e in generation.WithCancellation(stop.Token))
                    await channel.Writer.WriteAsync(e, stop.Token);
            }
            catch
            {
                await stop.CancelAsync();
                throw;
            }
        }).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(
            all => channel.Writer.TryComplete(all.Exception?.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) ?? all.Exception?.InnerException),
            TaskScheduler.Default);
        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken))
                yield return e;
        }
        finally
        {
            await stop.CancelAsync();
        }
    }
}
