using System.Text.Json;
using Junis.Server.ChatCompletions;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>Translates a validated request into what the model seam takes: messages and options.</summary>
public static class ModelInput
{
    public static ChatMessage ToModelMessage(RequestMessage message) => message.Role switch
    {
        "system" or "developer" => new ChatMessage(ChatRole.System, message.Content),
        "assistant" => new ChatMessage(ChatRole.Assistant, AssistantContents(message)),
        "tool" => new ChatMessage(ChatRole.Tool, [new FunctionResultContent(message.ToolCallId!, message.Content)]),
        _ => new ChatMessage(ChatRole.User, message.Content) { AuthorName = message.Name },
    };

    private static List<AIContent> AssistantContents(RequestMessage message)
    {
        var contents = new List<AIContent>();
        if (!string.IsNullOrEmpty(message.Content))
            contents.Add(new TextContent(message.Content));
        foreach (var call in message.ToolCalls ?? [])
        {
            contents.Add(OpenAIChatClient.ToolCall(call!.Id!, call.Function!.Name!, call.Function.Arguments ?? "{}"));
        }
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
        if (request.Tools is { Count: > 0 } tools)
        {
            options.Tools = [.. tools.Select(t => AIFunctionFactory.CreateDeclaration(
                t!.Function!.Name!, t.Function.Description, t.Function.Parameters ?? EmptySchema, returnJsonSchema: null))];
            options.ToolMode = request.ToolChoice switch
            {
                { Mode: ToolChoice.None } => ChatToolMode.None,
                { Mode: ToolChoice.Required } => ChatToolMode.RequireAny,
                { Mode: ToolChoice.Function, FunctionName: var name } => ChatToolMode.RequireSpecific(name!),
                _ => ChatToolMode.Auto,
            };
        }
        if ((request.User ?? request.UserId) is { } user)
            (options.AdditionalProperties ??= [])[OpenAIChatClient.EndUserKey] = user;
        return options;
    }

    private static readonly JsonElement EmptySchema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;
}
