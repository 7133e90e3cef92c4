using System.Text.Json;
using System.Text.RegularExpressions;

namespace Junis.Server.ChatCompletions;

/// <summary>
/// The rules OpenAI documents for the parameters the server passes to the model without acting on them, checked
/// so a mistake is a 400 naming the parameter here too, whatever model is behind. Values whose set grows with new
/// models (<c>reasoning_effort</c>, <c>service_tier</c>, <c>verbosity</c>) are checked for type only; the model
/// judges the value. Fields OpenAI does not document pass unchecked: a model server may know them.
/// </summary>
public static partial class ForwardedFieldsValidator
{
    private delegate RequestProblem? Rule(JsonElement value, Dictionary<string, JsonElement> fields);

    private static readonly Dictionary<string, Rule> Rules = new(StringComparer.Ordinal)
    {
        ["response_format"] = (value, _) => ResponseFormat(value),
        ["logprobs"] = (value, _) => OfKind(value, "logprobs", "a boolean", JsonValueKind.True, JsonValueKind.False),
        ["top_logprobs"] = (value, fields) => TopLogprobs(value, fields),
        ["seed"] = (value, _) => value.ValueKind is JsonValueKind.Null || value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long _)
            ? null : new RequestProblem("'seed' must be an integer.", "seed"),
        ["logit_bias"] = (value, _) => LogitBias(value),
        ["metadata"] = (value, _) => Metadata(value),
        ["store"] = (value, _) => OfKind(value, "store", "a boolean", JsonValueKind.True, JsonValueKind.False),
        ["reasoning_effort"] = (value, _) => OfKind(value, "reasoning_effort", "a string", JsonValueKind.String),
        ["verbosity"] = (value, _) => OfKind(value, "verbosity", "a string", JsonValueKind.String),
        ["service_tier"] = (value, _) => OfKind(value, "service_tier", "a string", JsonValueKind.String),
        ["prompt_cache_key"] = (value, _) => OfKind(value, "prompt_cache_key", "a string", JsonValueKind.String),
        ["safety_identifier"] = (value, _) => OfKind(value, "safety_identifier", "a string", JsonValueKind.String),
        ["modalities"] = (value, _) => value.ValueKind is JsonValueKind.Null
            || value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(m => m.ValueKind == JsonValueKind.String)
            ? null : new RequestProblem("'modalities' must be an array of strings, such as [\"text\", \"audio\"].", "modalities"),
        ["audio"] = (value, _) => OfKind(value, "audio", "an object with 'voice' and 'format'", JsonValueKind.Object),
        ["prediction"] = (value, _) => Prediction(value),
        ["web_search_options"] = (value, _) => OfKind(value, "web_search_options", "an object", JsonValueKind.Object),
        ["functions"] = (value, _) => Functions(value),
        ["function_call"] = (value, _) => FunctionCall(value),
    };

    public static RequestProblem? Validate(Dictionary<string, JsonElement>? fields)
    {
        if (fields is null)
            return null;
        foreach (var (name, value) in fields)
        {
            if (Rules.TryGetValue(name, out var rule) && rule(value, fields) is { } problem)
                return problem;
        }
        return null;
    }

    private static RequestProblem? OfKind(JsonElement value, string param, string expected, params JsonValueKind[] kinds) =>
        value.ValueKind == JsonValueKind.Null || kinds.Contains(value.ValueKind) ? null : new RequestProblem($"'{param}' must be {expected}.", param);

    private static RequestProblem? ResponseFormat(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        const string Shape = "'response_format' must be {\"type\":\"text\"}, {\"type\":\"json_object\"} or {\"type\":\"json_schema\",\"json_schema\":{\"name\":…,\"schema\":{…}}}.";
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            return new RequestProblem(Shape, "response_format");
        switch (type.GetString())
        {
            case "text" or "json_object":
                return null;
            case "json_schema":
                if (!value.TryGetProperty("json_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                    return new RequestProblem("'response_format.json_schema' is required when the type is json_schema.", "response_format.json_schema", "missing_required_field");
                if (!schema.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                    return new RequestProblem("'response_format.json_schema.name' is required.", "response_format.json_schema.name", "missing_required_field");
                if (!SchemaName().IsMatch(name.GetString()!))
                    return new RequestProblem("'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'.", "response_format.json_schema.name");
                if (schema.TryGetProperty("schema", out var body) && body.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                    return new RequestProblem("'response_format.json_schema.schema' must be a JSON Schema object.", "response_format.json_schema.schema");
                if (schema.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                    return new RequestProblem("'response_format.json_schema.strict' must be a boolean.", "response_format.json_schema.strict");
                return null;
            default:
                return new RequestProblem(Shape, "response_format.type");
        }
    }

    private static RequestProblem? TopLogprobs(JsonElement value, Dictionary<string, JsonElement> fields)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var count) || count is < 0 or > 20)
            return new RequestProblem("'top_logprobs' must be a whole number from 0 to 20.", "top_logprobs");
        return fields.TryGetValue("logprobs", out var logprobs) && logprobs.ValueKind == JsonValueKind.True
            ? null
            : new RequestProblem("'top_logprobs' needs 'logprobs' set to true.", "top_logprobs");
    }

    private static RequestProblem? LogitBias(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Object)
            return new RequestProblem("'logit_bias' must be an object mapping token ids to biases.", "logit_bias");
        foreach (var entry in value.EnumerateObject())
        {
            if (!long.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                return new RequestProblem($"'logit_bias' keys must be token ids; got '{entry.Name}'.", "logit_bias");
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetDouble(out var bias) || bias is < -100 or > 100)
                return new RequestProblem($"'logit_bias.{entry.Name}' must be a number from -100 to 100.", $"logit_bias.{entry.Name}");
        }
        return null;
    }

    private static RequestProblem? Metadata(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Object)
            return new RequestProblem("'metadata' must be an object of strings.", "metadata");
        var count = 0;
        foreach (var entry in value.EnumerateObject())
        {
            if (++count > 16)
                return new RequestProblem("'metadata' may hold at most 16 pairs.", "metadata");
            if (entry.Name.Length > 64)
                return new RequestProblem("'metadata' keys must be at most 64 characters.", "metadata");
            if (entry.Value.ValueKind != JsonValueKind.String || entry.Value.GetString()!.Length > 512)
                return new RequestProblem($"'metadata.{entry.Name}' must be a string of at most 512 characters.", $"metadata.{entry.Name}");
        }
        return null;
    }

    private static RequestProblem? Prediction(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        return value.ValueKind == JsonValueKind.Object && value.TryGetProperty("type", out var type) && type.ValueEquals("content")
            && value.TryGetProperty("content", out var content) && content.ValueKind is JsonValueKind.String or JsonValueKind.Array
            ? null
            : new RequestProblem("'prediction' must be {\"type\":\"content\",\"content\":…}.", "prediction");
    }

    private static RequestProblem? Functions(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Array)
            return new RequestProblem("'functions' must be an array of function declarations.", "functions");
        var i = 0;
        foreach (var function in value.EnumerateArray())
        {
            if (function.ValueKind != JsonValueKind.Object || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                return new RequestProblem($"'functions[{i}].name' is required.", $"functions[{i}].name", "missing_required_field");
            i++;
        }
        return null;
    }

    private static RequestProblem? FunctionCall(JsonElement value) =>
        value.ValueKind == JsonValueKind.Null || value.ValueKind == JsonValueKind.String && (value.ValueEquals("none") || value.ValueEquals("auto"))
        || value.ValueKind == JsonValueKind.Object && value.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
            ? null
            : new RequestProblem("'function_call' must be 'none', 'auto' or {\"name\":…}.", "function_call");

    [GeneratedRegex(@"^[a-zA-Z0-9_-]{1,64}\z")]
    private static partial Regex SchemaName();
}
