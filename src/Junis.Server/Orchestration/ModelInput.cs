using System.Text.Json;
using Junis.Server.ChatCompletions;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// Translates a validated request into what the model seam takes: messages and options. What the server does not
/// act on rides along as written (content parts, tool declarations, <see cref="ChatCompletionRequest.OtherFields"/>),
/// so a model that speaks OpenAI's protocol is sent what the caller wrote.
/// </summary>
public static class ModelInput
{
    public static readonly ChatRole Developer = new("developer");
    public static readonly ChatRole Function = new("function");

    public static ChatMessage ToModelMessage(RequestMessage message)
    {
        var model = message.Role switch
        {
            "system" => new ChatMessage(ChatRole.System, Contents(message)),
            "developer" => new ChatMessage(Developer, Contents(message)),
            "assistant" => new ChatMessage(ChatRole.Assistant, AssistantContents(message)),
            "tool" => new ChatMessage(ChatRole.Tool, [new FunctionResultContent(message.ToolCallId!, message.Text), .. message.Content?.Parts ?? []]),
            "function" => new ChatMessage(Function, Contents(message)),
            _ => new ChatMessage(ChatRole.User, Contents(message)),
        };
        model.AuthorName = message.Name;
        if (message.OtherFields is { } other)
            model.AdditionalProperties = Fields(other);
        return model;
    }

    private static IList<AIContent> Contents(RequestMessage message) =>
        message.Content?.Parts is { } parts ? [.. parts] : [new TextContent(message.Text)];

    private static List<AIContent> AssistantContents(RequestMessage message)
    {
        var contents = new List<AIContent>();
        if (message.Content?.Parts is { } parts)
            contents.AddRange(parts);
        else if (!string.IsNullOrEmpty(message.Text))
            contents.Add(new TextContent(message.Text));
        if (message.Refusal is { } refusal)
            contents.Add(new RefusalContent(refusal));
        foreach (var call in message.ToolCalls ?? [])
            contents.Add(ContentParts.ToolCall(call!.Id!, call.Function!.Name!, call.Function.Arguments ?? "{}"));
        return contents;
    }

    public static ChatOptions ToChatOptions(ChatCompletionRequest request)
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
