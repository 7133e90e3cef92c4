using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Junis.Server.Llm;

// The sample of each kind of value.
public sealed partial class SchemaSample
{
    // Values that pass the usual format checks (JSON Schema's and zod's).
    private static readonly Dictionary<string, string> Formats = new()
    {
        ["date-time"] = "2024-01-01T00:00:00Z",
        ["date"] = "2024-01-01",
        ["time"] = "00:00:00Z",
        ["duration"] = "PT0S",
        ["email"] = "echo@example.com",
        ["idn-email"] = "echo@example.com",
        ["hostname"] = "example.com",
        ["idn-hostname"] = "example.com",
        ["ipv4"] = "127.0.0.1",
        ["ipv6"] = "::1",
        ["uri"] = "https://example.com/",
        ["uri-reference"] = "https://example.com/",
        ["iri"] = "https://example.com/",
        ["iri-reference"] = "https://example.com/",
        ["url"] = "https://example.com/",
        ["uuid"] = "00000000-0000-4000-8000-000000000000",
    };

    /// <summary>The required properties only: the smallest object. Strict schemas require every property anyway.</summary>
    private bool TryObject(JsonElement schema, out JsonNode? value)
    {
        value = null;
        var required = schema.TryGetProperty("required", out var names) && names.ValueKind == JsonValueKind.Array
            ? names.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!).ToList()
            : [];
        var properties = schema.TryGetProperty("properties", out var declared) && declared.ValueKind == JsonValueKind.Object
            ? declared.EnumerateObject().ToDictionary(p => p.Name, p => p.Value)
            : [];
        var undeclared = schema.TryGetProperty("additionalProperties", out var additional) ? additional : AnyValue;
        var sample = new JsonObject();
        // In the order the properties are declared, as a model writes them; required names without a declaration last.
        foreach (var name in properties.Keys.Where(required.Contains).Concat(required).Distinct())
        {
            if (!TryValue(properties.GetValueOrDefault(name, undeclared), out var property))
                return false;
            sample[name] = property;
        }
        value = sample;
        return true;
    }

    private static readonly JsonElement AnyValue = JsonElement.Parse("true");

    /// <summary><c>minItems</c> items (none by default), each from <c>prefixItems</c> (or tuple <c>items</c>) or <c>items</c>.</summary>
    private bool TryArray(JsonElement schema, out JsonNode? value)
    {
        value = null;
        var count = schema.TryGetProperty("minItems", out var min) && min.TryGetInt32(out var m) ? Math.Max(m, 0) : 0;
        if (!Spend(count))
            return false;
        var prefix = schema.TryGetProperty("prefixItems", out var p) && p.ValueKind == JsonValueKind.Array ? p
            : schema.TryGetProperty("items", out var tuple) && tuple.ValueKind == JsonValueKind.Array ? tuple
            : default;
        var rest = schema.TryGetProperty("items", out var items) && items.ValueKind != JsonValueKind.Array ? items
            : schema.TryGetProperty("additionalItems", out var additional) ? additional
            : AnyValue;
        var sample = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            var itemSchema = prefix.ValueKind == JsonValueKind.Array && i < prefix.GetArrayLength() ? prefix[i] : rest;
            if (!TryValue(itemSchema, out var item))
                return false;
            sample.Add(item);
        }
        value = sample;
        return true;
    }

    /// <summary>
    /// The text, padded with dots or cut to the length bounds (counted in code points, as JSON Schema counts); a known format's
    /// fixed value instead. Against a pattern the text does not match, the empty string if that matches; if neither
    /// does, the text anyway (best effort), unless the caller has another type to try.
    /// </summary>
    private bool TryString(JsonElement schema, bool mustMatch, out JsonNode? value)
    {
        value = null;
        if (schema.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.String
            && Formats.TryGetValue(format.GetString()!, out var fixedValue))
        {
            value = fixedValue;
            return true;
        }
        var min = schema.TryGetProperty("minLength", out var minLength) && minLength.TryGetInt32(out var lo) ? lo : 0;
        var max = schema.TryGetProperty("maxLength", out var maxLength) && maxLength.TryGetInt32(out var hi) ? hi : int.MaxValue;
        if (!Spend(Math.Max(min, _text.Length)))
            return false;
        var text = Fit(_text, min, max);
        if (schema.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.String
            && !Matches(pattern.GetString()!, text))
        {
            if (min == 0 && Matches(pattern.GetString()!, ""))
                text = "";
            else if (mustMatch)
                return false;
        }
        value = text;
        return true;
    }

    private static string Fit(string text, int min, int max)
    {
        var runes = text.EnumerateRunes().ToList();
        if (runes.Count > max)
            return string.Concat(runes.Take(max));
        return runes.Count < min ? text + new string('.', min - runes.Count) : text;
    }

    // JSON Schema patterns are ECMAScript regular expressions; .NET's reads the ones schemas use alike. One it cannot
    // read, or that takes too long, is taken as met: the sample cannot do better.
    private static bool Matches(string pattern, string text)
    {
        try
        {
            return Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
        }
        catch (Exception e) when (e is ArgumentException or RegexMatchTimeoutException)
        {
            return true;
        }
    }

    /// <summary>
    /// The least number the bounds allow (a multiple of <c>multipleOf</c>, whole for integers); 0 without a lower
    /// bound, or the greatest allowed below 0 when only an upper bound below 0 is given.
    /// </summary>
    private static JsonValue Number(JsonElement schema, bool integer)
    {
        var step = Decimal(schema, "multipleOf") is > 0 and var multiple ? multiple : (decimal?)null;
        if (integer && (step is null || step % 1 != 0))
            step = 1; // (An integer multiple of a fraction is rare enough to leave to chance.)
        var (low, lowExclusive) = Bound(schema, "minimum", "exclusiveMinimum", lower: true);
        var (high, highExclusive) = Bound(schema, "maximum", "exclusiveMaximum", lower: false);
        decimal number = 0;
        try
        {
            if (low is { } l)
            {
                number = step is { } s ? Math.Ceiling(l / s) * s : l;
                if (lowExclusive && number <= l)
                    number += step ?? (high is { } h && h > l ? (h - l) / 2 : 1);
            }
            else if (high is { } h && (h < 0 || h == 0 && highExclusive))
            {
                number = step is { } s ? Math.Floor(h / s) * s : h;
                if (highExclusive && number >= h)
                    number -= step ?? 1;
            }
        }
        catch (OverflowException)
        {
            number = low ?? high ?? 0; // Bounds at the edge of what decimals hold: the bound itself, best effort.
        }
        // A whole number is written without a fraction, so that an integer reads as one in every client; a fraction
        // without trailing zeros (0.5, not 0.50: decimals keep the scale they were computed at).
        return number % 1 == 0 && number is >= long.MinValue and <= long.MaxValue
            ? JsonValue.Create((long)number)
            : JsonValue.Create(number / 1.0000000000000000000000000000m);
    }

    /// <summary>A bound given inclusively or exclusively (as a number, or as draft 4's boolean beside the bound).</summary>
    private static (decimal? Value, bool Exclusive) Bound(JsonElement schema, string inclusive, string exclusive, bool lower)
    {
        var bound = Decimal(schema, inclusive);
        if (schema.TryGetProperty(exclusive, out var flag) && flag.ValueKind == JsonValueKind.True)
            return (bound, bound is not null);
        if (Decimal(schema, exclusive) is not { } strict)
            return (bound, false);
        if (bound is not { } b)
            return (strict, true);
        var strictIsTighter = lower ? strict >= b : strict <= b;
        return strictIsTighter ? (strict, true) : (b, false);
    }

    private static decimal? Decimal(JsonElement schema, string keyword) =>
        schema.TryGetProperty(keyword, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number)
            ? number
            : null;
}
