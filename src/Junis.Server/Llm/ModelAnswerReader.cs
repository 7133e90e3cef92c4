using System.Text.Json;

namespace Junis.Server.Llm;

/// <summary>
/// Reads what a model server answers (a whole answer, one streamed chunk, or an error body) straight off its bytes
/// into <see cref="ModelAnswer"/>: the serializer would build the same objects through its general machinery, at several
/// times the cost per chunk (bench/ANALYSIS.md, "Figures behind the code"). Unknown fields are skipped; a field of the wrong type is a <see cref="JsonException"/>, as it would be
/// from the serializer; a <c>null</c> answer reads as null.
/// </summary>
internal static class ModelAnswerReader
{
    public static ModelAnswer? Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        var answer = reader.TokenType == JsonTokenType.Null ? null : Answer(ref reader);
        // Anything after the value, other than white space, is malformed JSON: the reader says so.
        reader.Read();
        return answer;
    }

    private static ModelAnswer Answer(ref Utf8JsonReader reader)
    {
        StartObject(ref reader);
        var answer = new ModelAnswer();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("choices"u8))
                answer.Choices = ListOrNull(ref reader.Value(), Choice);
            else if (reader.ValueTextEquals("system_fingerprint"u8))
                answer.SystemFingerprint = Text(ref reader.Value());
            else if (reader.ValueTextEquals("service_tier"u8))
                answer.ServiceTier = Text(ref reader.Value());
            else if (reader.ValueTextEquals("usage"u8))
                answer.Usage = ObjectOrNull(ref reader.Value(), Usage);
            else if (reader.ValueTextEquals("error"u8))
                answer.Error = ObjectOrNull(ref reader.Value(), Error);
            else if (reader.ValueTextEquals("message"u8))
                answer.Message = Text(ref reader.Value());
            else
                reader.Value().Skip();
        }
        return answer;
    }

    private static ModelChoice Choice(ref Utf8JsonReader reader)
    {
        var choice = new ModelChoice();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("delta"u8))
                choice.Delta = ObjectOrNull(ref reader.Value(), Reply);
            else if (reader.ValueTextEquals("message"u8))
                choice.Message = ObjectOrNull(ref reader.Value(), Reply);
            else if (reader.ValueTextEquals("finish_reason"u8))
                choice.FinishReason = Text(ref reader.Value());
            else if (reader.ValueTextEquals("logprobs"u8))
                choice.Logprobs = ElementOrNull(ref reader.Value());
            else
                reader.Value().Skip();
        }
        return choice;
    }

    private static ModelReply Reply(ref Utf8JsonReader reader)
    {
        var reply = new ModelReply();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("content"u8))
                reply.Content = Text(ref reader.Value());
            else if (reader.ValueTextEquals("refusal"u8))
                reply.Refusal = Text(ref reader.Value());
            else if (reader.ValueTextEquals("tool_calls"u8))
                reply.ToolCalls = ListOrNull(ref reader.Value(), ToolCall);
            else if (reader.ValueTextEquals("function_call"u8))
                reply.FunctionCall = ObjectOrNull(ref reader.Value(), FunctionCall);
            else if (reader.ValueTextEquals("role"u8))
                reader.Value().Skip();
            else
            {
                var name = reader.GetString()!;
                if (ElementOrNull(ref reader.Value()) is { } value)
                    (reply.OtherFields ??= [])[name] = value;
            }
        }
        return reply;
    }

    private static ModelToolCall ToolCall(ref Utf8JsonReader reader)
    {
        var call = new ModelToolCall();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("index"u8))
                call.Index = NullableInt(ref reader.Value());
            else if (reader.ValueTextEquals("id"u8))
                call.Id = Text(ref reader.Value());
            else if (reader.ValueTextEquals("type"u8))
                call.Type = Text(ref reader.Value()) ?? call.Type;
            else if (reader.ValueTextEquals("function"u8))
                call.Function = ObjectOrNull(ref reader.Value(), FunctionCall);
            else
                reader.Value().Skip();
        }
        return call;
    }

    private static ModelFunctionCall FunctionCall(ref Utf8JsonReader reader)
    {
        var function = new ModelFunctionCall();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("name"u8))
                function.Name = Text(ref reader.Value());
            else if (reader.ValueTextEquals("arguments"u8))
                function.Arguments = Text(ref reader.Value());
            else
                reader.Value().Skip();
        }
        return function;
    }

    private static ModelUsage Usage(ref Utf8JsonReader reader)
    {
        var usage = new ModelUsage();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
                usage.PromptTokens = Int(ref reader.Value());
            else if (reader.ValueTextEquals("completion_tokens"u8))
                usage.CompletionTokens = Int(ref reader.Value());
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
                Details(ref reader.Value(), "prompt_tokens_details.", usage);
            else if (reader.ValueTextEquals("completion_tokens_details"u8))
                Details(ref reader.Value(), "completion_tokens_details.", usage);
            else
                reader.Value().Skip();
        }
        return usage;
    }

    /// <summary>The counts of a details object, by their dotted names (<c>prompt_tokens_details.cached_tokens</c>).</summary>
    private static void Details(ref Utf8JsonReader reader, string prefix, ModelUsage usage)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return;
        StartObject(ref reader);
        while (NextProperty(ref reader))
        {
            var name = prefix + reader.GetString();
            if (reader.Value().TokenType == JsonTokenType.Number && reader.TryGetInt64(out var count))
                (usage.Details ??= [])[name] = count;
            else
                reader.Skip();
        }
    }

    private static ModelError Error(ref Utf8JsonReader reader)
    {
        var error = new ModelError();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("message"u8))
                error.Message = Text(ref reader.Value());
            else
                reader.Value().Skip();
        }
        return error;
    }

    private delegate T Reader<out T>(ref Utf8JsonReader reader);

    /// <summary>An object, or null; the reader is at its first token and ends on its last.</summary>
    private static T? ObjectOrNull<T>(ref Utf8JsonReader reader, Reader<T> read) where T : class
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        StartObject(ref reader);
        return read(ref reader);
    }

    /// <summary>An array of objects, or null. Null items are left out: there is nothing in them to use.</summary>
    private static List<T>? ListOrNull<T>(ref Utf8JsonReader reader, Reader<T> read) where T : class
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        if (reader.TokenType != JsonTokenType.StartArray)
            throw WrongType("an array", ref reader);
        var items = new List<T>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (ObjectOrNull(ref reader, read) is { } item)
                items.Add(item);
        }
        return items;
    }

    /// <summary>A value as written; null when it is JSON null.</summary>
    private static JsonElement? ElementOrNull(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Null ? null : JsonElement.ParseValue(ref reader);

    private static string? Text(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => reader.GetString(),
        _ => throw WrongType("a string", ref reader),
    };

    private static int? NullableInt(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Null ? null : Int(ref reader);

    private static int Int(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : throw WrongType("a whole number", ref reader);

    private static void StartObject(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw WrongType("an object", ref reader);
    }

    /// <summary>Moves to the object's next property name; false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader) => reader.Read() && reader.TokenType == JsonTokenType.PropertyName;

    /// <summary>Moves from a property name to its value.</summary>
    private static ref Utf8JsonReader Value(this ref Utf8JsonReader reader)
    {
        reader.Read();
        return ref reader;
    }

    private static JsonException WrongType(string expected, ref Utf8JsonReader reader) =>
        new($"Expected {expected} at byte {reader.TokenStartIndex} of the model's answer, found {reader.TokenType}.");
}
