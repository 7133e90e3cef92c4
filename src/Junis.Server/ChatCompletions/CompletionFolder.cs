using System.Text;
using Junis.Server.Orchestration;

namespace Junis.Server.ChatCompletions;

/// <summary>Folds the events of a turn into one <c>chat.completion</c>, for callers that did not ask to stream.</summary>
public static class CompletionFolder
{
    public static async Task<ChatCompletion> FoldAsync(IAsyncEnumerable<TurnEvent> events, CompletionIdentity identity, int choiceCount)
    {
        var text = new StringBuilder[choiceCount];
        var calls = new List<(string Id, string Name, StringBuilder Arguments)>?[choiceCount];
        var finish = new string[choiceCount];
        Usage? usage = null;

        await foreach (var e in events)
        {
            switch (e)
            {
                case TextDelta delta:
                    (text[delta.Choice] ??= new StringBuilder()).Append(delta.Text);
                    break;
                case ToolCallStarted call:
                    (calls[call.Choice] ??= []).Add((call.Id, call.Name, new StringBuilder(call.Arguments)));
                    break;
                case ToolCallArguments more:
                    calls[more.Choice]![more.Index].Arguments.Append(more.Fragment);
                    break;
                case ChoiceFinished finished:
                    finish[finished.Choice] = finished.FinishReason;
                    break;
                case TurnFinished turn:
                    usage = turn.Usage;
                    break;
            }
        }

        var choices = new CompletionChoice[choiceCount];
        for (var i = 0; i < choiceCount; i++)
        {
            var toolCalls = calls[i]?.Select(c => new ToolCall(c.Id, new FunctionCall(c.Name, c.Arguments.ToString()))).ToList();
            // An assistant message that only calls tools has null content, as OpenAI sends it.
            var content = text[i]?.ToString() ?? (toolCalls is null ? "" : null);
            choices[i] = new CompletionChoice(i, new AssistantMessage(content, toolCalls), finish[i] ?? FinishReasons.Stop);
        }
        return new ChatCompletion(identity.Id, identity.Created, identity.Model, choices,
            usage ?? throw new InvalidOperationException("A turn ended without its usage."));
    }
}
