using System.Text.Json;
using Junis.Server.Auth;
using Junis.Server.Llm;
using Junis.Server.Orchestration;
using Microsoft.Extensions.AI;

namespace Junis.Server.ChatCompletions;

/// <summary>
/// Translates a validated request into the turn it asks for: messages and options as the model seam takes them,
/// and who is asking. What the server does not act on rides along as written (content parts, tool declarations,
/// <see cref="ChatCompletionRequest.OtherFields"/>), so a model that speaks OpenAI's protocol is sent what the caller wrote.
/// </summary>
public static class TurnRequests
{
    public static TurnRequest ToTurnRequest(this ChatCompletionRequest request, Caller caller) =>
        new(caller.OrganizationId, caller.KeyId, [.. request.Messages!.Select(m => ToModelMessage(m!))], ToChatOptions(request))
        {
            ConversationId = ConversationIdOf(request),
            UserId = request.UserId ?? request.User,
            Choices = request.N ?? 1,
            Streaming = request.IsStreaming,
        };

    /// <summary>The caller's name for the conversation: ElevenLabs' <c>conversation_id</c>, or a <c>session_id</c>.</summary>
    public static string? ConversationIdOf(ChatCompletionRequest request)
    {
        if (request.ElevenlabsExtraBody is { ValueKind: JsonValueKind.Object } extra
            && extra.TryGetProperty("conversation_id", out var id) && id.ValueKind == JsonValueKind.String)
        {
            return id.GetString();
        }
        return request.SessionId;
    }

    public static ChatMessage ToModelMessage(RequestMessage message)
    {
        var model = message.Role switch
        {
            "system" => new ChatMessage(ChatRole.System, Contents(message)),
            "developer" => new ChatMessage(Roles.Developer, Contents(message)),
            "assistant" => new ChatMessage(ChatRole.Assistant, AssistantContents(message)),
            "tool" => new ChatMessage(ChatRole.Tool, [new FunctionResultContent(message.ToolCallId!, message.Text), .. message.Content?.Parts ?? []]),
            "function" => new ChatMessage(Roles.Function, Contents(message)),
            _ => new ChatMessage(ChatRole.User, Contents(message)),
        };
        model.AuthorName = message.Name;
        if (message.OtherFields is { } other)
            model.AdditionalProperties = Fields(other);
        return model;
    }

    private static IList<AIContent> Contents(RequestMessage message) =>
        message.Content?.Parts is { Count: > 0 } parts ? [.. parts] : [new TextContent(message.Text)];

    private static List<AIContent> AssistantContents(RequestMessage message)
    {
        var contents = new List<AIContent>();
        if (message.Content?.Parts is { Count: > 0 } parts)
            contents.AddRange(parts);
        else if (message.Text is not null)
            contents.Add(new TextContent(message.Text)); // even empty: the session keeps "" apart from no content

        if (message.Refusal is { } refusal)
            contents.Add(new RefusalContent(refusal));
        foreach (var call in message.ToolCalls ?? [])
            contents.Add(ContentParts.ToolCall(call!.Id!, call.Function!.Name!, call.Function.Arguments ?? "{}"));
        return contents;
    }

    private static ChatOptions ToChatOptions(ChatCompletionRequest request)
    {
        var options = new ChatOptions
        {
            Temperature = (float?)request.Temperature,
            TopP = (float?)request.TopP,
            FrequencyPenalty = (float?)request.FrequencyPenalty,
            PresencePenalty = (float?)request.PresencePenalty,
            MaxOutputTokens = request.OutputTokenLimit,
            StopSequences = request.Stop,
            AllowMultipleToolCalls = request.ParallelToolCalls,
        };
        if (request.OtherFields is { } other)
            options.AdditionalProperties = Fields(other);
        // The server asks for usage itself; the caller's other stream options go with it.
        if (request.StreamOptions?.OtherFields is { Count: > 0 } streamOptions)
            (options.AdditionalProperties ??= [])["stream_options"] = streamOptions;
        if (request.Tools is { Count: > 0 } tools)
        {
            options.Tools = [.. tools.Select(t => new DeclaredFunction(t!.Function!.Name!, t.Function.Description, t.Function.Parameters,
                FunctionFields(t.Function)))];
            options.ToolMode = request.ToolChoice switch
            {
                { Mode: ToolChoice.None } => ChatToolMode.None,
                { Mode: ToolChoice.Required } => ChatToolMode.RequireAny,
                { Mode: ToolChoice.Function, FunctionName: var name } => ChatToolMode.RequireSpecific(name!),
                // Microsoft.Extensions.AI has no mode for a subset of tools: the choice goes to the model as written.
                { AllowedTools: not null } => null,
                _ => ChatToolMode.Auto,
            };
            if (request.ToolChoice?.AllowedTools is { } allowedTools)
                (options.AdditionalProperties ??= [])["tool_choice"] = allowedTools;
        }
        if ((request.User ?? request.UserId) is { } user)
            (options.AdditionalProperties ??= [])["user"] = user;
        return options;
    }

    private static AdditionalPropertiesDictionary Fields(Dictionary<string, JsonElement> fields)
    {
        var copy = new AdditionalPropertiesDictionary();
        foreach (var (name, value) in fields)
            copy[name] = value;
        return copy;
    }

    private static Dictionary<string, object?> FunctionFields(FunctionDefinition function)
    {
        var fields = new Dictionary<string, object?>();
        if (function.Strict is { } strict)
            fields["strict"] = strict;
        foreach (var (name, value) in function.OtherFields ?? [])
            fields[name] = value;
        return fields;
    }
}
