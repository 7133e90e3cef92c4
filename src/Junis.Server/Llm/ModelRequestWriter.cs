using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// Writes the request body for an OpenAI-compatible model server straight from the messages and options. What the
/// caller wrote travels as written: content parts, tool declarations, tool-call arguments, and every request field
/// the server does not act on (<see cref="ChatOptions.AdditionalProperties"/>, <see cref="ChatMessage.AdditionalProperties"/>).
/// </summary>
internal static class ModelRequestWriter
{
    // Text as UTF-8, not \uXXXX escapes: the body is JSON read by a model server, never HTML.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static ReadOnlyMemory<byte> Write(string model, IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream, string maxTokensField)
    {
        var body = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(body, Options);
        json.WriteStartObject();
        json.WriteString("model", model);
        json.WritePropertyName("messages");
        WriteMessages(json, messages);
        if (options is not null)
            WriteOptions(json, options, maxTokensField);
        if (stream)
        {
            json.WriteBoolean("stream", true);
            // The usage comes in a last chunk; the server always wants it, whatever the caller asked for.
            json.WriteStartObject("stream_options");
            json.WriteBoolean("include_usage", true);
            if (options?.AdditionalProperties?.TryGetValue(StreamOptions, out var more) == true && more is IEnumerable<KeyValuePair<string, JsonElement>> callers)
                WriteFields(json, callers.Where(o => o.Key != "include_usage").Select(o => KeyValuePair.Create(o.Key, (object?)o.Value)));
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.Flush();
        return body.WrittenMemory;
    }

    private static void WriteOptions(Utf8JsonWriter json, ChatOptions options, string maxTokensField)
    {
        WriteNumber(json, "temperature", options.Temperature);
        WriteNumber(json, "top_p", options.TopP);
        WriteNumber(json, "frequency_penalty", options.FrequencyPenalty);
        WriteNumber(json, "presence_penalty", options.PresencePenalty);
        if (options.MaxOutputTokens is { } limit)
            json.WriteNumber(maxTokensField, limit);
        if (options.StopSequences is { Count: > 0 } stops)
        {
            json.WriteStartArray("stop");
            foreach (var stop in stops)
                json.WriteStringValue(stop);
            json.WriteEndArray();
        }
        if (options.Tools is { Count: > 0 } tools)
        {
            json.WriteStartArray("tools");
            foreach (var tool in tools.OfType<AIFunctionDeclaration>())
                WriteTool(json, tool);
            json.WriteEndArray();
            if (ToolChoice(options.ToolMode) is { } choice)
            {
                json.WritePropertyName("tool_choice");
                choice(json);
            }
            if (options.AllowMultipleToolCalls is { } parallel)
                json.WriteBoolean("parallel_tool_calls", parallel);
        }
        WriteFields(json, options.AdditionalProperties?.Where(f => f.Key != StreamOptions));
    }

    /// <summary>Where the caller's own stream options travel; they go out inside the server's <c>stream_options</c>.</summary>
    public const string StreamOptions = "stream_options";

    private static void WriteTool(Utf8JsonWriter json, AIFunctionDeclaration tool)
    {
        json.WriteStartObject();
        json.WriteString("type", "function");
        json.WriteStartObject("function");
        json.WriteString("name", tool.Name);
        var declared = tool as DeclaredFunction;
        if ((declared is null ? tool.Description : declared.DeclaredDescription) is { Length: > 0 } description)
            json.WriteString("description", description);
        if ((declared is null ? tool.JsonSchema : declared.Parameters) is { } parameters)
        {
            json.WritePropertyName("parameters");
            parameters.WriteTo(json);
        }
        WriteFields(json, tool.AdditionalProperties);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static Action<Utf8JsonWriter>? ToolChoice(ChatToolMode? mode) => mode switch
    {
        NoneChatToolMode => json => json.WriteStringValue("none"),
        RequiredChatToolMode { RequiredFunctionName: { } name } => json =>
        {
            json.WriteStartObject();
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", name);
            json.WriteEndObject();
            json.WriteEndObject();
        },
        RequiredChatToolMode => json => json.WriteStringValue("required"),
        AutoChatToolMode => json => json.WriteStringValue("auto"),
        _ => null,
    };

    private static void WriteMessages(Utf8JsonWriter json, IEnumerable<ChatMessage> messages)
    {
        json.WriteStartArray();
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.Tool)
            {
                foreach (var result in message.Contents.OfType<FunctionResultContent>())
                {
                    json.WriteStartObject();
                    json.WriteString("role", "tool");
                    json.WriteString("tool_call_id", result.CallId);
                    if (!WriteParts(json, message.Contents))
                        json.WriteString("content", result.Result as string ?? result.Result?.ToString() ?? "");
                    WriteFields(json, message.AdditionalProperties);
                    json.WriteEndObject();
                }
                continue;
            }

            json.WriteStartObject();
            json.WriteString("role", message.Role.Value);
            if (message.AuthorName is { } name)
                json.WriteString("name", name);
            if (message.Role == ChatRole.Assistant)
                WriteAssistant(json, message);
            else if (!WriteParts(json, message.Contents))
                json.WriteString("content", message.Text);
            WriteFields(json, message.AdditionalProperties);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void WriteAssistant(Utf8JsonWriter json, ChatMessage message)
    {
        var calls = message.Contents.OfType<FunctionCallContent>().ToList();
        if (!WriteParts(json, message.Contents))
        {
            var text = message.Text;
            // A reply that only called tools (or only refused) has no content, as OpenAI writes it.
            if (text.Length == 0 && (calls.Count > 0 || message.Contents.Any(c => c is RefusalContent)))
                json.WriteNull("content");
            else
                json.WriteString("content", text);
        }
        if (message.Contents.OfType<RefusalContent>().FirstOrDefault(r => ContentParts.RawPart(r) is null) is { } refusal)
            json.WriteString("refusal", refusal.Text);
        if (calls.Count == 0)
            return;
        json.WriteStartArray("tool_calls");
        foreach (var call in calls)
        {
            json.WriteStartObject();
            json.WriteString("id", call.CallId);
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", call.Name);
            json.WriteString("arguments", ContentParts.ArgumentsOf(call));
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>Writes <c>content</c> as the parts the caller sent, when it sent parts; false when it sent a string.</summary>
    private static bool WriteParts(Utf8JsonWriter json, IList<AIContent> contents)
    {
        var hasParts = false;
        for (var i = 0; i < contents.Count && !hasParts; i++)
            hasParts = ContentParts.RawPart(contents[i]) is not null;
        if (!hasParts)
            return false;
        json.WriteStartArray("content");
        foreach (var content in contents)
            ContentParts.RawPart(content)?.WriteTo(json);
        json.WriteEndArray();
        return true;
    }

    /// <summary>Fields passed on as written: JSON values (or plain strings, numbers and booleans) under their wire names.</summary>
    private static void WriteFields(Utf8JsonWriter json, IEnumerable<KeyValuePair<string, object?>>? fields)
    {
        if (fields is null)
            return;
        foreach (var (name, value) in fields)
        {
            json.WritePropertyName(name);
            switch (value)
            {
                case JsonElement element: element.WriteTo(json); break;
                case string text: json.WriteStringValue(text); break;
                case bool flag: json.WriteBooleanValue(flag); break;
                case int number: json.WriteNumberValue(number); break;
                case long number: json.WriteNumberValue(number); break;
                case double number: json.WriteNumberValue(number); break;
                case float number: json.WriteNumberValue(number); break;
                case null: json.WriteNullValue(); break;
                default: throw new NotSupportedException($"A request field of type {value.GetType().Name} cannot be sent to the model.");
            }
        }
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, float? value)
    {
        if (value is { } number)
            json.WriteNumber(name, number);
    }
}
