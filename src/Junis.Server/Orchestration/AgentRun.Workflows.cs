using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text;
using Junis.Server.Agents;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>The workflow agents: sub-agents in order, at once, or in a loop.</summary>
internal sealed partial class AgentRun
{
    /// <summary>
    /// <c>SEQUENTIAL_AGENT</c>: its sub-agents one after another on the same conversation, each one's output under its
    /// output key for the next; the last one's words are the sequence's, streamed as they come when it speaks.
    /// </summary>
    private async IAsyncEnumerable<TurnEvent> SequenceAsync(
        AgentDefinition agent, bool speaks, Loop? loop, StringBuilder said, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var subAgents = agents.SubAgentsOf(agent);
        for (var i = 0; i < subAgents.Count && loop?.Exited != true; i++)
        {
            var last = i == subAgents.Count - 1;
            var saidHere = new StringBuilder();
            await foreach (var e in RunAsync(subAgents[i], speaks && last, loop, saidHere, cancellationToken))
                yield return e;
            if (last)
                said.Append(saidHere);
        }
        if (agent.OutputKey is { } key)
            _outputs[key] = said.ToString();
    }

    /// <summary>
    /// <c>PARALLEL_AGENT</c>: its sub-agents at once, each on its own, all cancelled together when the caller leaves or
    /// one of them fails; their outputs joined in sub-agent order, each passed on as soon as those before it are done.
    /// </summary>
    private async IAsyncEnumerable<TurnEvent> AtOnceAsync(
        AgentDefinition agent, bool speaks, Loop? loop, StringBuilder said, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var subAgents = agents.SubAgentsOf(agent);
        using var together = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var runs = subAgents.Select(sub => Task.Run(() => SilentlyAsync(sub, loop, together), together.Token)).ToArray();
        try
        {
            foreach (var run in runs)
            {
                string words;
                try
                {
                    words = await run;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Cancelled because another sub-agent failed: that failure is the one the caller is told of.
                    await Task.WhenAll(runs).ContinueWith(static _ => { }, TaskScheduler.Default);
                    if (runs.Select(r => r.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException) is { } failure)
                        ExceptionDispatchInfo.Throw(failure);
                    throw;
                }
                if (words.Length == 0)
                    continue;
                var piece = said.Length > 0 ? "\n\n" + words : words;
                said.Append(piece);
                if (speaks)
                    yield return new TextDelta(choice, piece);
            }
        }
        finally
        {
            // A caller who left, or a sub-agent that failed, stops them all; none outlives the turn.
            await together.CancelAsync();
            await Task.WhenAll(runs).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
        Spoke(agent, speaks);
        if (agent.OutputKey is { } key)
            _outputs[key] = said.ToString();
    }

    private async Task<string> SilentlyAsync(AgentDefinition agent, Loop? loop, CancellationTokenSource together)
    {
        var said = new StringBuilder();
        try
        {
            await foreach (var _ in RunAsync(agent, speaks: false, loop, said, together.Token))
            {
            }
        }
        catch
        {
            await together.CancelAsync();
            throw;
        }
        return said.ToString();
    }

    /// <summary>
    /// <c>LOOP_AGENT</c>: its sub-agents in order, again and again, until one of them calls <c>exit_loop</c> or
    /// <c>max_iterations</c> rounds are done. The loop's output is the last words said in it.
    /// </summary>
    private async IAsyncEnumerable<TurnEvent> LoopAsync(
        AgentDefinition agent, bool speaks, StringBuilder said, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var subAgents = agents.SubAgentsOf(agent);
        var loop = new Loop();
        var lastWords = "";
        for (var round = 0; round < (agent.MaxIterations ?? 1) && !loop.Exited; round++)
        {
            foreach (var sub in subAgents)
            {
                var saidHere = new StringBuilder();
                await foreach (var _ in RunAsync(sub, speaks: false, loop, saidHere, cancellationToken))
                {
                }
                if (saidHere.Length > 0)
                    lastWords = saidHere.ToString();
                if (loop.Exited)
                    break;
            }
        }
        said.Append(lastWords);
        if (speaks && lastWords.Length > 0)
            yield return new TextDelta(choice, lastWords);
        Spoke(agent, speaks);
        if (agent.OutputKey is { } key)
            _outputs[key] = said.ToString();
    }

    /// <summary>A workflow whose joined words the caller heard answered the turn.</summary>
    private void Spoke(AgentDefinition agent, bool speaks)
    {
        if (!speaks)
            return;
        result.Agent = agent.Name;
        result.FinishReason = ChatFinishReason.Stop;
    }
}
