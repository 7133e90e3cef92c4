using System.Text.Json;
using System.Text.RegularExpressions;
using Junis.Server.Llm;

namespace Junis.Server.ChatCompletions;

/// <summary>A request that breaks a rule: what to tell the caller, and which parameter is at fault.</summary>
public sealed record RequestProblem(string Message, string? Param, string Code = "invalid_value");

/// <summary>The rules OpenAI documents for each parameter, checked before anything else happens.</summary>
public static partial class ChatRequestValidator
{
    // "function" is the legacy tool result, answering a legacy function_call.
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool", "function"];
    private const int MaxIdLength = 256;

    public static RequestProblem? Validate(ChatCompletionRequest request, RequestLimitsOptions limits) =>
        ValidateMessages(request.Messages)
        ?? Range(request.Temperature, 0, 2, "temperature")
        ?? Range(request.TopP, 0, 1, "top_p")
        ?? Range(request.FrequencyPenalty, -2, 2, "frequency_penalty")
        ?? Range(request.PresencePenalty, -2, 2, "presence_penalty")
        ?? AtLeastOne(request.MaxTokens, "max_tokens")
        ?? AtLeastOne(request.MaxCompletionTokens, "max_completion_tokens")
        ?? (request.N is < 1 || request.N > limits.MaxChoices
            ? new RequestProblem($"'n' must be between 1 and {limits.MaxChoices}.", "n") : null)
        ?? ValidateStop(request.Stop)
        ?? ValidateTools(request)
        ?? ValidateIdentifiers(request)
        ?? ForwardedFieldsValidator.Validate(request.OtherFields);

    private static RequestProblem? ValidateMessages(List<RequestMessage?>? messages)
    {
        if (messages is null)
            return new RequestProblem("Invalid request: 'messages' field is required", "messages", "missing_required_field");
        if (messages.Count == 0)
            return new RequestProblem("'messages' must contain at least one message.", "messages", "empty_array");

        for (var i = 0; i < messages.Count; i++)
        {
            var at = $"messages[{i}]";
            if (messages[i] is not { } message)
                return new RequestProblem($"'{at}' must be a message object.", at);
            if (message.Role is null)
                return new RequestProblem($"'{at}.role' is required.", $"{at}.role", "missing_required_field");
            if (!Roles.Contains(message.Role))
                return new RequestProblem($"'{at}.role' must be one of {string.Join(", ", Roles)}; got '{message.Role}'.", $"{at}.role");

            if (message.ToolCalls is { Count: > 0 } && message.Role != "assistant")
                return new RequestProblem($"'{at}.tool_calls' is only allowed on assistant messages.", $"{at}.tool_calls");
            if (message.Content is null && message.Role != "assistant")
                return new RequestProblem($"'{at}.content' is required for {message.Role} messages.", $"{at}.content", "missing_required_field");
            if (message.Role == "assistant" && message.Content is null && message.Refusal is null && message.ToolCalls is not { Count: > 0 }
                && message.OtherFields?.ContainsKey("function_call") != true && message.OtherFields?.ContainsKey("audio") != true)
            {
                return new RequestProblem($"'{at}' needs 'content' or 'tool_calls'.", $"{at}.content", "missing_required_field");
            }
            if (message.Role == "tool" && string.IsNullOrEmpty(message.ToolCallId))
                return new RequestProblem($"'{at}.tool_call_id' is required for tool messages.", $"{at}.tool_call_id", "missing_required_field");
            if (message.Role == "function" && string.IsNullOrEmpty(message.Name))
                return new RequestProblem($"'{at}.name' is required for function messages.", $"{at}.name", "missing_required_field");
            if (ValidateParts(message, at) is { } partProblem)
                return partProblem;

            for (var j = 0; j < (message.ToolCalls?.Count ?? 0); j++)
            {
                if (ValidateToolCall(message.ToolCalls![j], $"{at}.tool_calls[{j}]") is { } problem)
                    return problem;
            }
        }
        return null;
    }

    private static RequestProblem? ValidateToolCall(RequestToolCall? call, string at)
    {
        if (call is null)
            return new RequestProblem($"'{at}' must be a tool call object.", at);
        if (string.IsNullOrEmpty(call.Id))
            return new RequestProblem($"'{at}.id' is required.", $"{at}.id", "missing_required_field");
        if (call.Type is not (null or "function"))
            return new RequestProblem($"'{at}.type' must be 'function'.", $"{at}.type");
        if (string.IsNullOrEmpty(call.Function?.Name))
            return new RequestProblem($"'{at}.function.name' is required.", $"{at}.function.name", "missing_required_field");
        // Some models write "" for a call without arguments; what they wrote comes back as it was.
        if (call.Function.Arguments is { Length: > 0 } arguments && !IsJsonObject(arguments))
            return new RequestProblem($"'{at}.function.arguments' must be a JSON object encoded as a string.", $"{at}.function.arguments");
        return null;
    }

    /// <summary>Images, audio and files come from the user; a refusal only from the assistant (as OpenAI has it).</summary>
    private static RequestProblem? ValidateParts(RequestMessage message, string at)
    {
        var parts = message.Content?.Parts;
        for (var j = 0; j < (parts?.Count ?? 0); j++)
        {
            var part = parts![j];
            if (ContentParts.IsMedia(part) && message.Role != "user")
                return new RequestProblem($"'{at}.content[{j}]': {message.Role} messages may hold only text parts; images, audio and files come from the user.", $"{at}.content[{j}]");
            if (part is RefusalContent && message.Role != "assistant")
                return new RequestProblem($"'{at}.content[{j}]': only assistant messages may hold a refusal part.", $"{at}.content[{j}]");
        }
        return null;
    }

    private static RequestProblem? ValidateStop(List<string>? stop)
    {
        if (stop is null) return null;
        if (stop.Count > 4)
            return new RequestProblem("'stop' may hold at most 4 sequences.", "stop");
        return stop.Any(string.IsNullOrEmpty) ? new RequestProblem("'stop' sequences must not be empty.", "stop") : null;
    }

    private static RequestProblem? ValidateTools(ChatCompletionRequest request)
    {
        var tools = request.Tools;
        if (tools is { Count: > 128 })
            return new RequestProblem("'tools' may hold at most 128 tools.", "tools");

        for (var i = 0; i < (tools?.Count ?? 0); i++)
        {
            var at = $"tools[{i}]";
            var tool = tools![i];
            if (tool is null)
                return new RequestProblem($"'{at}' must be a tool object.", at);
            if (tool.Type != "function")
                return new RequestProblem($"'{at}.type' must be 'function'.", $"{at}.type");
            if (tool.Function is null)
                return new RequestProblem($"'{at}.function' is required.", $"{at}.function", "missing_required_field");
            if (tool.Function.Name is null)
                return new RequestProblem($"'{at}.function.name' is required.", $"{at}.function.name", "missing_required_field");
            if (!FunctionName().IsMatch(tool.Function.Name))
                return new RequestProblem($"'{at}.function.name' must be 1 to 64 letters, digits, '_' or '-'.", $"{at}.function.name");
            if (tool.Function.Parameters is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) })
                return new RequestProblem($"'{at}.function.parameters' must be a JSON Schema object.", $"{at}.function.parameters");
        }

        return request.ToolChoice switch
        {
            { Mode: ToolChoice.Required or ToolChoice.Function } when tools is not { Count: > 0 } =>
                new RequestProblem("'tool_choice' requires 'tools'.", "tool_choice"),
            { Mode: ToolChoice.Function, FunctionName: var wanted } when !tools!.Any(t => t!.Function!.Name == wanted) =>
                new RequestProblem($"'tool_choice' names '{wanted}', which is not in 'tools'.", "tool_choice"),
            { AllowedTools: { } allowed } when AllowedNames(allowed).FirstOrDefault(n => tools?.Any(t => t!.Function!.Name == n) != true) is { } unknown =>
                new RequestProblem($"'tool_choice.allowed_tools.tools' names '{unknown}', which is not in 'tools'.", "tool_choice.allowed_tools.tools"),
            _ => null,
        };
    }

    private static IEnumerable<string?> AllowedNames(JsonElement choice) =>
        choice.GetProperty(ToolChoice.Allowed).GetProperty("tools").EnumerateArray().Select(t =>
            t.ValueKind == JsonValueKind.Object && t.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
            && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : "(a tool without a function name)");

    private static RequestProblem? ValidateIdentifiers(ChatCompletionRequest request)
    {
        if (request.ElevenlabsExtraBody is { } extra)
        {
            if (extra.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                return new RequestProblem("'elevenlabs_extra_body' must be an object.", "elevenlabs_extra_body");
            if (extra.ValueKind == JsonValueKind.Object && extra.TryGetProperty("conversation_id", out var conversation)
                && conversation.ValueKind != JsonValueKind.Null
                && (conversation.ValueKind != JsonValueKind.String || !IsIdentifier(conversation.GetString())))
            {
                return new RequestProblem($"'elevenlabs_extra_body.conversation_id' must be a non-empty string of at most {MaxIdLength} characters.",
                    "elevenlabs_extra_body.conversation_id");
            }
        }
        if (request.SessionId is not null && !IsIdentifier(request.SessionId))
            return new RequestProblem($"'session_id' must be a non-empty string of at most {MaxIdLength} characters.", "session_id");
        if (request.User is { Length: > MaxIdLength })
            return new RequestProblem($"'user' must be at most {MaxIdLength} characters.", "user");
        if (request.UserId is { Length: > MaxIdLength })
            return new RequestProblem($"'user_id' must be at most {MaxIdLength} characters.", "user_id");
        return null;
    }

    private static RequestProblem? Range(double? value, double min, double max, string param) =>
        value is { } v && (v < min || v > max)
            ? new RequestProblem($"'{param}' must be between {min} and {max}; got {v}.", param)
            : null;

    private static RequestProblem? AtLeastOne(int? value, string param) =>
        value is < 1 ? new RequestProblem($"'{param}' must be at least 1; got {value}.", param) : null;

    private static bool IsIdentifier(string? value) => !string.IsNullOrWhiteSpace(value) && value.Length <= MaxIdLength;

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^[a-zA-Z0-9_-]{1,64}\z")]
    private static partial Regex FunctionName();
}
