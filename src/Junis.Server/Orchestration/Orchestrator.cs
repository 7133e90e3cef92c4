using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Junis.Server.ChatCompletions;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Orchestration;

/// <summary>
/// Runs one turn: the system prompt, history and request go to the model; its updates come back as
/// <see cref="TurnEvent"/>s the moment they arrive; the turn ends with its usage.
/// </summary>
public sealed class Orchestrator(IChatClient model, TokenCounter tokens, IOptions<OrchestratorOptions> options)
{
    public async IAsyncEnumerable<TurnEvent> RunAsync(ChatCompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var input = BuildInput(request);
        var chatOptions = ModelInput.ToChatOptions(request);
        var choices = new ChoiceResult[request.N ?? 1];
        for (var i = 0; i < choices.Length; i++)
            choices[i] = new ChoiceResult();

        var events = choices.Length == 1
            ? GenerateAsync(0, input, chatOptions, choices[0], cancellationToken)
            : Merge([.. choices.Select((choice, i) => GenerateAsync(i, input, chatOptions.Clone(), choice, cancellationToken))], cancellationToken);

        await foreach (var e in events.WithCancellation(cancellationToken))
            yield return e;

        yield return new TurnFinished(CountUsage(input, choices));
    }

    private List<ChatMessage> BuildInput(ChatCompletionRequest request)
    {
        var input = new List<ChatMessage>(request.Messages!.Count + 1);
        if (options.Value.SystemPrompt is { Length: > 0 } systemPrompt)
            input.Add(new ChatMessage(ChatRole.System, systemPrompt));
        foreach (var message in request.Messages)
            input.Add(ModelInput.ToModelMessage(message!));
        return input;
    }

    private async IAsyncEnumerable<TurnEvent> GenerateAsync(
        int choice, List<ChatMessage> input, ChatOptions chatOptions, ChoiceResult result, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var update in model.GetStreamingResponseAsync(input, chatOptions, cancellationToken))
        {
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextContent { Text.Length: > 0 } text:
                        result.Text.Append(text.Text);
                        yield return new TextDelta(choice, text.Text);
                        break;
                    case FunctionCallContent call:
                        var arguments = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions);
                        result.ToolCalls.Add(new ToolCall(call.CallId, new FunctionCall(call.Name, arguments)));
                        yield return new ToolCallStarted(choice, result.ToolCalls.Count - 1, call.CallId, call.Name, arguments);
                        break;
                    case UsageContent usage:
                        result.ModelUsage = usage.Details;
                        break;
                }
            }
            if (update.FinishReason is { } reason)
                result.FinishReason = reason;
        }
        yield return new ChoiceFinished(choice, FinishReasons.ToWire(result.FinishReason, result.ToolCalls.Count > 0));
    }

    /// <summary>Usage as the model reported it; where it reported none, counted with the o200k tokenizer.</summary>
    private Usage CountUsage(List<ChatMessage> input, ChoiceResult[] choices)
    {
        var prompt = choices[0].ModelUsage?.InputTokenCount is long reported
            ? (int)reported
            : tokens.CountPrompt(input.Select(m => (m.Role.Value, (string?)m.Text)));
        var completion = 0;
        foreach (var choice in choices)
        {
            completion += choice.ModelUsage?.OutputTokenCount is long output
                ? (int)output
                : tokens.Count(choice.Text.ToString()) + choice.ToolCalls.Sum(c => tokens.Count(c.Function.Name) + tokens.Count(c.Function.Arguments));
        }
        return new Usage(prompt, completion);
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

    /// <summary>What one generation produced, gathered while its events stream out.</summary>
    private sealed class ChoiceResult
    {
        public StringBuilder Text { get; } = new();
        public List<ToolCall> ToolCalls { get; } = [];
        public ChatFinishReason? FinishReason { get; set; }
        public UsageDetails? ModelUsage { get; set; }
    }
}
