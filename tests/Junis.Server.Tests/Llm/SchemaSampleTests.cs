using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Json.Schema;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// The smallest value of a JSON Schema, strings filled with a text: checked with a JSON Schema validator (formats
/// included) on the shapes that clients send, and value by value where the smallest value is well defined.
/// </summary>
public sealed class SchemaSampleTests
{
    private const string Echo = "Echo: hi";

    /// <summary>The sample of <paramref name="schema"/>, after checking that the schema accepts it.</summary>
    internal static JsonNode? ValidSample(string schema, string text = Echo)
    {
        var json = SchemaSample.Json(JsonElement.Parse(schema), text);
        AssertValid(schema, json);
        return JsonNode.Parse(json);
    }

    internal static void AssertValid(string schema, string json)
    {
        var result = JsonSchema.FromText(schema).Evaluate(JsonElement.Parse(json),
            new EvaluationOptions { RequireFormatValidation = true, OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"{json} does not validate: {JsonSerializer.Serialize(result.Details?.Where(d => d.Errors is not null))}");
    }

    // What openai-node's zodResponseFormat sends for an object of string, number, boolean, enum, array, nested object
    // and nullables: every property required, no others allowed, a nullable object as anyOf with null.
    internal const string ZodSchema = """
        {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
         "properties":{
           "city":{"type":"string"},
           "temperature":{"type":"number"},
           "raining":{"type":"boolean"},
           "units":{"type":"string","enum":["c","f"]},
           "tags":{"type":"array","items":{"type":"string"}},
           "station":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id","name"],"additionalProperties":false},
           "note":{"type":["string","null"]},
           "backup":{"anyOf":[{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false},{"type":"null"}]}
         },
         "required":["city","temperature","raining","units","tags","station","note","backup"]}
        """;

    [Fact]
    public void AZodSchemaGetsEveryPropertyInOrderWithStringsFilled()
    {
        var sample = ValidSample(ZodSchema);

        Assert.Equal("""
            {"city":"Echo: hi","temperature":0,"raining":false,"units":"c","tags":[],"station":{"id":0,"name":"Echo: hi"},"note":"Echo: hi","backup":{"name":"Echo: hi"}}
            """, sample!.ToJsonString());
    }

    [Description("A forecast")]
    public sealed record Forecast(
        string City, int Days, double Temperature, bool Raining, Units Units, List<string> Tags, Station Station,
        Station? Backup, int? Priority, DateTime Issued, Guid Id, Uri Link, Units? PreferredUnits, Dictionary<string, int> Counts);

    public sealed record Station(string Name, [property: Range(1, 99)] int Number, [property: StringLength(5, MinimumLength = 3)] string Code);

    [JsonConverter(typeof(JsonStringEnumConverter<Units>))]
    public enum Units { Celsius, Fahrenheit }

    public sealed record TreeNode(string Name, TreeNode? Parent, List<TreeNode> Children);

    [Fact]
    public void ADotNetSchemaFromAIJsonUtilitiesGetsAValidSample()
    {
        var schema = AIJsonUtilities.CreateJsonSchema(typeof(Forecast)).GetRawText();

        var sample = ValidSample(schema)!;

        Assert.Equal(Echo, (string)sample["city"]!);
        Assert.Equal("Celsius", (string)sample["units"]!);
        Assert.Equal(JsonValueKind.Object, sample["backup"]!.GetValueKind());
        // It deserializes back into the record, as a .NET client reading a structured answer would.
        var forecast = sample.Deserialize<Forecast>(AIJsonUtilities.DefaultOptions)!;
        Assert.Equal(Echo, forecast.Station.Name);
    }

    [Fact]
    public void ARecursiveDotNetSchemaStopsWhereTheRecursionIsNullableOrEmpty()
    {
        var schema = AIJsonUtilities.CreateJsonSchema(typeof(TreeNode)).GetRawText();

        var sample = ValidSample(schema)!;

        Assert.Equal(Echo, (string)sample["name"]!);
        Assert.Empty(sample["children"]!.AsArray());
    }

    [Theory]
    [InlineData("$defs", "https://json-schema.org/draft/2020-12/schema")]
    [InlineData("definitions", "http://json-schema.org/draft-07/schema#")]
    public void DefinitionsAreFollowedAndARecursiveReferenceStaysOut(string definitions, string dialect)
    {
        var schema = """
            {"$schema":"DIALECT","$ref":"#/DEFS/Node","DEFS":{"Node":{"type":"object","properties":{
               "name":{"$ref":"#/DEFS/Name"},
               "children":{"type":"array","items":{"$ref":"#/DEFS/Node"}},
               "next":{"anyOf":[{"$ref":"#/DEFS/Node"},{"type":"null"}]},
               "optional":{"$ref":"#/DEFS/Node"}},
             "required":["name","children","next"]},
             "Name":{"type":"string","minLength":1}}}
            """.Replace("DEFS", definitions).Replace("DIALECT", dialect);

        Assert.Equal("""{"name":"Echo: hi","children":[],"next":null}""", ValidSample(schema)!.ToJsonString());
    }

    [Theory]
    [InlineData("date-time", "2024-01-01T00:00:00Z")]
    [InlineData("date", "2024-01-01")]
    [InlineData("time", "00:00:00Z")]
    [InlineData("email", "echo@example.com")]
    [InlineData("uuid", "00000000-0000-4000-8000-000000000000")]
    [InlineData("uri", "https://example.com/")]
    [InlineData("url", "https://example.com/")]
    [InlineData("ipv4", "127.0.0.1")]
    [InlineData("ipv6", "::1")]
    [InlineData("hostname", "example.com")]
    [InlineData("duration", "PT0S")]
    [InlineData("no-such-format", Echo)]
    public void AFormattedStringIsAValidFixedValue(string format, string expected)
    {
        Assert.Equal(expected, (string)ValidSample($$"""{"type":"string","format":"{{format}}"}""")!);
    }

    [Theory]
    [InlineData("""{"type":"integer"}""", "0")]
    [InlineData("""{"type":"number","minimum":2.5}""", "2.5")]
    [InlineData("""{"type":"integer","minimum":-7,"maximum":10}""", "-7")]
    [InlineData("""{"type":"integer","exclusiveMinimum":0}""", "1")]
    [InlineData("""{"type":"number","exclusiveMinimum":0,"maximum":1}""", "0.5")]
    [InlineData("""{"type":"integer","minimum":1.5}""", "2")]
    [InlineData("""{"type":"number","minimum":0.3,"multipleOf":0.25}""", "0.5")]
    [InlineData("""{"type":"integer","minimum":10,"multipleOf":4}""", "12")]
    [InlineData("""{"type":"integer","maximum":-3}""", "-3")]
    [InlineData("""{"type":"integer","exclusiveMaximum":0}""", "-1")]
    [InlineData("""{"type":"integer","maximum":-10,"multipleOf":4}""", "-12")]
    [InlineData("""{"type":"integer","minimum":5,"exclusiveMinimum":5}""", "6")]
    public void ANumberIsTheLeastTheBoundsAllow(string schema, string expected)
    {
        Assert.Equal(expected, ValidSample(schema)!.ToJsonString());
    }

    [Fact]
    public void ADraft4ExclusiveBoundIsABooleanBesideTheBound()
    {
        // Draft 4, which the validator does not read: the value is checked by hand.
        Assert.Equal("2", SchemaSample.Json(JsonElement.Parse("""{"type":"integer","minimum":1,"exclusiveMinimum":true}"""), Echo));
    }

    [Theory]
    [InlineData("""{"type":"string","minLength":12}""", "Echo: hi....")]
    [InlineData("""{"type":"string","maxLength":4}""", "Echo")]
    [InlineData("""{"type":"string","minLength":2,"maxLength":100}""", Echo)]
    [InlineData("""{"type":"string","pattern":"^Echo"}""", Echo)]
    [InlineData("""{"type":"string","pattern":"^[a-z]*$"}""", "")]
    public void AStringIsTheTextFittedToItsLengthAndPattern(string schema, string expected)
    {
        Assert.Equal(expected, (string)ValidSample(schema)!);
    }

    [Fact]
    public void LengthsCountCodePointsAsJsonSchemaDoes()
    {
        Assert.Equal("Echo: 😀😀", (string)ValidSample("""{"type":"string","maxLength":8}""", "Echo: 😀😀😀")!);
    }

    [Fact]
    public void APatternTheTextCannotMeetMakesWayForAnotherAllowedType()
    {
        Assert.Equal("0", ValidSample("""{"type":["string","integer"],"pattern":"^-?\\d+$"}""")!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"type":["string","null"]}""", "\"Echo: hi\"")]
    [InlineData("""{"type":["null","boolean"]}""", "false")]
    [InlineData("""{"type":"null"}""", "null")]
    [InlineData("""{"anyOf":[{"type":"null"},{"type":"integer","minimum":3}]}""", "3")]
    [InlineData("""{"oneOf":[{"type":"string","maxLength":4},{"type":"integer"}]}""", "\"Echo\"")]
    [InlineData("""{"const":{"kind":"fixed"}}""", """{"kind":"fixed"}""")]
    [InlineData("""{"type":"string","enum":["b","a"]}""", "\"b\"")]
    [InlineData("""{"type":"array","minItems":2,"items":{"type":"boolean"}}""", "[false,false]")]
    [InlineData("""{"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"minItems":2}""", """[0,"Echo: hi"]""")]
    [InlineData("""{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"integer"},{"type":"string"}],"minItems":2,"maxItems":2}""", """[0,"Echo: hi"]""")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["b"]}""", """{"b":"Echo: hi"}""")]
    [InlineData("""{"type":"object","required":["x"],"additionalProperties":{"type":"integer"}}""", """{"x":0}""")]
    [InlineData("""{}""", "\"Echo: hi\"")]
    public void EachKeywordGivesItsSmallestValue(string schema, string expected)
    {
        Assert.Equal(expected, ValidSample(schema)?.ToJsonString() ?? "null");
    }

    [Fact]
    public void AllOfMergesItsBranches()
    {
        var schema = """
            {"$defs":{"Base":{"type":"object","properties":{"id":{"type":"integer","minimum":1}},"required":["id"]}},
             "allOf":[{"$ref":"#/$defs/Base"},{"properties":{"name":{"type":"string"}},"required":["name"]},{"minProperties":1}]}
            """;

        Assert.Equal("""{"id":1,"name":"Echo: hi"}""", ValidSample(schema)!.ToJsonString());
    }

    [Fact]
    public void CharactersAreWrittenAsTheyAreAndQuotesEscaped()
    {
        var json = SchemaSample.Json(JsonElement.Parse("""{"type":"string"}"""), "Echo: 안녕 \"hi\" <b>");

        Assert.Equal("\"Echo: 안녕 \\\"hi\\\" <b>\"", json);
    }

    [Theory]
    [InlineData("""false""")]
    [InlineData("""{"type":"object","properties":{"self":{"$ref":"#"}},"required":["self"]}""")]
    [InlineData("""{"type":"object","required":["x"],"additionalProperties":false}""")]
    public void AnUnsatisfiableSchemaGivesNull(string schema)
    {
        Assert.Equal("null", SchemaSample.Json(JsonElement.Parse(schema), Echo));
    }

    [Theory]
    [InlineData("""{"type":"array","minItems":2000000000}""")]
    [InlineData("""{"type":"string","minLength":2000000000}""")]
    [InlineData("""
        {"$defs":{"A":{"allOf":[{"$ref":"#/$defs/A"},{"$ref":"#/$defs/A"}]},
                  "B":{"type":"object","properties":{"l":{"$ref":"#/$defs/C"},"r":{"$ref":"#/$defs/C"}},"required":["l","r"]},
                  "C":{"type":"array","minItems":1000,"items":{"type":"array","minItems":1000,"items":{"$ref":"#/$defs/A"}}}},
         "$ref":"#/$defs/B"}
        """)]
    public void AHostileSchemaIsAnsweredQuicklyAndSmall(string schema)
    {
        var clock = Stopwatch.StartNew();

        var json = SchemaSample.Json(JsonElement.Parse(schema), Echo);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.True(json.Length < 1_000_000, $"{json.Length} characters");
    }

    [Fact]
    public void ASchemaThatDoublesAtEveryLevelIsCutShort()
    {
        // 2^40 branches to merge, and as many objects to nest.
        var levels = Enumerable.Range(0, 40).Select(i => """
            "L0":{"allOf":[{"$ref":"#/$defs/L1"},{"$ref":"#/$defs/L1"}],
                  "properties":{"a":{"$ref":"#/$defs/L1"},"b":{"$ref":"#/$defs/L1"}},"required":["a","b"]}
            """.Replace("L1", $"L{i + 1}").Replace("L0", $"L{i}"));
        var schema = $$$"""{"$defs":{{{{string.Join(",", levels)}}},"L40":{"type":"string"}},"$ref":"#/$defs/L0"}""";
        var clock = Stopwatch.StartNew();

        var json = SchemaSample.Json(JsonElement.Parse(schema), Echo);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.True(json.Length < 1_000_000, $"{json.Length} characters");
    }
}
