using System.Text;
using System.Text.Json;
using Junis.Server.Llm;
using Junis.Server.Orchestration;

namespace Junis.Server.ChatCompletions;

/// <summary>Folds the events of a turn into one <c>chat.completion</c>, for callers that did not ask to stream.</summary>
public static class CompletionFolder
{
    /// <summary>The completion, its turn committed: a caller that gets it has a durable turn.</summary>
    public static async Task<ChatCompletion> FoldAsync(TurnScope turn, CompletionIdentity identity, int choiceCount, CancellationToken cancellationToken)
    {
        var choices = new Choice[choiceCount];
        for (var i = 0; i < choiceCount; i++)
            choices[i] = new Choice();
        AnswerInfo? info = null;

        await foreach (var e in turn.Events.WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case AnswerInfo answer:
                    // The provider that answered is the last to say so (a chain's fallback after the first).
                    info = info is null ? answer : info with { Provider = answer.Provider ?? info.Provider };
                    break;
                case TextDelta delta:
                    (choices[delta.Choice].Text ??= new StringBuilder()).Append(delta.Text);
                    choices[delta.Choice].AddLogprobs(delta.Logprobs);
                    break;
                case RefusalDelta refusal:
                    (choices[refusal.Choice].Refusal ??= new StringBuilder()).Append(refusal.Text);
                    choices[refusal.Choice].AddLogprobs(refusal.Logprobs);
                    break;
                case ToolCallStarted call:
                    (choices[call.Choice].Calls ??= []).Add((call.Id, call.Name, new StringBuilder(call.Arguments), call.Legacy));
                    break;
                case ToolCallArguments more:
                    choices[more.Choice].Calls![more.Index].Arguments.Append(more.Fragment);
                    break;
                case OtherReplyFields fields:
                    foreach (var (name, value) in fields.Fields)
                        (choices[fields.Choice].OtherFields ??= [])[name] = value;
                    break;
                case ChoiceFinished finished:
                    choices[finished.Choice].Finish = finished.FinishReason;
                    break;
            }
        }

        var usage = await turn.CommitAsync();
        return new ChatCompletion(identity.Id, identity.Created, identity.Model, [.. choices.Select((c, i) => c.ToWire(i))], Usage.Of(usage))
        {
            SystemFingerprint = info?.SystemFingerprint,
            ServiceTier = info?.ServiceTier,
            RequestId = info?.RequestId,
            Provider = info?.Provider,
        };
    }

    private sealed class Choice
    {
        public StringBuilder? Text { get; set; }
        public StringBuilder? Refusal { get; set; }
        public List<(string Id, string Name, StringBuilder Arguments, bool Legacy)>? Calls { get; set; }
        public List<JsonElement>? Logprobs { get; private set; }
        public Dictionary<string, JsonElement>? OtherFields { get; set; }
        public string? Finish { get; set; }

        public void AddLogprobs(JsonElement? logprobs)
        {
            if (logprobs is { } tokens)
                (Logprobs ??= []).Add(tokens);
        }

        public CompletionChoice ToWire(int index)
        {
            var toolCalls = Calls?.Where(c => !c.Legacy).Select(c => new ToolCall(c.Id, new FunctionCall(c.Name, c.Arguments.ToString()))).ToList();
            var legacy = Calls?.Where(c => c.Legacy).Select(c => new FunctionCall(c.Name, c.Arguments.ToString())).FirstOrDefault();
            // A reply that only calls tools, or only refuses, has null content, as OpenAI sends it.
            var content = Text?.ToString() ?? (Calls is null && Refusal is null ? "" : null);
            var message = new AssistantMessage
            {
                Content = content,
                Refusal = Refusal?.ToString(),
                ToolCalls = toolCalls is { Count: > 0 } ? toolCalls : null,
                FunctionCall = legacy,
                OtherFields = OtherFields,
            };
            var logprobs = Logprobs switch
            {
                null => (JsonElement?)null,
                [var one] => one,
                var many => LogprobsContent.Concat(many),
            };
            return new CompletionChoice(index, message, logprobs, Finish ?? FinishReasons.Stop);
        }
    }
}
