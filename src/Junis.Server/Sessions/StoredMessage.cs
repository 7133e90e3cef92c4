using System.Text.Json;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Sessions;

/// <summary>A message as stored: its transcript view plus the ids that link tool calls and results.</summary>
public sealed record StoredMessage(string Role, string? Content, IReadOnlyList<StoredToolCall>? ToolCalls = null, string? ToolCallId = null)
{
    /// <summary>A reply the model refused to give, in its words; such a reply has no content.</summary>
    public string? Refusal { get; init; }

    /// <summary>The participant's name, when the caller gave one.</summary>
    public string? Name { get; init; }

    /// <summary>A message's content parts as written, when they hold more than text (images, audio, files).</summary>
    public IReadOnlyList<JsonElement>? Parts { get; init; }

    /// <summary>The agent whose words these are, when agents answered the turn; not part of the transcript the caller hashes.</summary>
    public string? Agent { get; init; }

    /// <summary>The model provider whose answer this reply is, when it was named.</summary>
    public string? Provider { get; init; }

    /// <summary>
    /// The model calls inside the turn that the caller did not see as tool calls (a transfer, a workflow's earlier agents),
    /// in order; kept with the reply for audit, never sent to the model again.
    /// </summary>
    public IReadOnlyList<AgentStep>? AgentSteps { get; init; }

    public TranscriptMessage Transcript =>
        new(Role, Content ?? Refusal, ToolCalls?.Select(c => (c.Name, c.Arguments)).ToList(), Parts);

    /// <summary>
    /// A message of the conversation as a surface hands it over: its words (the text contents joined, or a tool's
    /// result), its calls with their arguments as written, and its parts as written when any is more than words.
    /// </summary>
    public static StoredMessage Of(ChatMessage message)
    {
        string? text = null, refusal = null;
        FunctionResultContent? result = null;
        List<StoredToolCall>? calls = null;
        List<JsonElement>? parts = null;
        var media = false;
        foreach (var content in message.Contents)
        {
            if (ContentParts.RawPart(content) is { } part)
            {
                (parts ??= []).Add(part);
                media |= ContentParts.IsMedia(content);
            }
            switch (content)
            {
                case TextContent words:
                    text += words.Text;
                    break;
                case RefusalContent refused when content.RawRepresentation is null:
                    refusal = refused.Text;
                    break;
                case FunctionCallContent call:
                    (calls ??= []).Add(new StoredToolCall(call.CallId, call.Name, ContentParts.ArgumentsOf(call)));
                    break;
                case FunctionResultContent answered:
                    result = answered;
                    break;
            }
        }
        // A tool's words are its result (its text parts joined); content sent as parts has text, if only an empty one.
        text = result is not null ? result.Result as string : parts is not null ? text ?? "" : text;
        return new StoredMessage(message.Role.Value, text, calls, result?.CallId)
        {
            Refusal = refusal,
            Name = message.AuthorName,
            Parts = media ? parts : null,
        };
    }
}

/// <summary>A tool call as the session keeps it: the arguments as the model or the caller wrote them.</summary>
public sealed record StoredToolCall(string Id, string Name, string Arguments);

/// <summary>The tokens a stored reply cost.</summary>
public sealed record TokenUsage(int Prompt, int Completion);
