using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;
using static Junis.Server.Tests.Llm.EchoModelTests;

namespace Junis.Server.Tests.Llm;

/// <summary>Echo and tools: a required call is made with arguments its schema accepts; a tool's result is answered.</summary>
public sealed class EchoToolCallTests
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]},"days":{"type":"integer","minimum":1}},
         "required":["city","unit","days"],"additionalProperties":false}
        """;

    private static readonly AIFunctionDeclaration Weather =
        AIFunctionFactory.CreateDeclaration("get_weather", "The forecast", JsonElement.Parse(WeatherSchema), returnJsonSchema: null);

    // The shape Microsoft.Extensions.AI gives a .NET method's parameters.
    private static readonly AIFunction Booking = AIFunctionFactory.Create(
        (string guest, DateTime arrival, int nights, bool breakfast, string? note) => "booked", "book_room");

    private static ChatOptions Tools(ChatToolMode mode) => new() { Tools = [Weather, Booking], ToolMode = mode };

    [Fact]
    public async Task RequiringAnyToolCallsTheFirstWithArgumentsItsSchemaAccepts()
    {
        var updates = await StreamAsync(Ask("Rain in Paris?"), Tools(ChatToolMode.RequireAny));

        Assert.Equal(2, updates.Count);
        var call = Assert.IsType<ToolCallFragment>(Assert.Single(updates[0].Contents));
        Assert.Equal((0, "get_weather"), (call.Index, call.Name));
        Assert.StartsWith("call_", call.CallId);
        SchemaSampleTests.AssertValid(WeatherSchema, call.Arguments);
        Assert.Equal("""{"city":"Echo: Rain in Paris?","unit":"c","days":1}""", call.Arguments);
        Assert.Equal(ChatFinishReason.ToolCalls, updates[1].FinishReason);
        Assert.Empty(Pieces(updates));
    }

    [Fact]
    public async Task RequiringANamedToolCallsThatTool()
    {
        var whole = await Echo.GetResponseAsync(Ask("A room for two nights"), Tools(ChatToolMode.RequireSpecific("book_room")));

        var call = Assert.IsType<ToolCallFragment>(Assert.Single(Assert.Single(whole.Messages).Contents));
        Assert.Equal("book_room", call.Name);
        SchemaSampleTests.AssertValid(Booking.JsonSchema.GetRawText(), call.Arguments);
        Assert.Equal("Echo: A room for two nights", (string)JsonNode.Parse(call.Arguments)!["guest"]!);
        Assert.Equal(ChatFinishReason.ToolCalls, whole.FinishReason);
    }

    [Theory]
    [InlineData("""{"temperature":21}""", """Echo: {"temperature":21}""")]
    [InlineData("", "Echo: (empty tool result)")]
    public async Task AfterAToolResultARequiredToolIsAnsweredWithTheResult(string result, string expected)
    {
        List<ChatMessage> conversation =
        [
            new(ChatRole.User, "Rain in Paris?"),
            new(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", result)]),
        ];

        var whole = await Echo.GetResponseAsync(conversation, Tools(ChatToolMode.RequireAny));

        Assert.Equal(expected, Assert.IsType<TextContent>(Assert.Single(Assert.Single(whole.Messages).Contents)).Text);
        Assert.Equal(ChatFinishReason.Stop, whole.FinishReason);
    }

    [Fact]
    public async Task WithToolsLeftToItsChoiceEchoAnswersInText()
    {
        var auto = await Echo.GetResponseAsync(Ask("Rain?"), Tools(ChatToolMode.Auto));
        var none = await Echo.GetResponseAsync(Ask("Rain?"), Tools(ChatToolMode.None));

        Assert.Equal(("Echo: Rain?", "Echo: Rain?"), (auto.Text, none.Text));
        Assert.Empty(auto.Messages.SelectMany(m => m.Contents).OfType<ToolCallFragment>());
    }

    [Fact]
    public async Task RequiringAToolThatWasNotGivenIsAnsweredInText()
    {
        var whole = await Echo.GetResponseAsync(Ask("Rain?"), Tools(ChatToolMode.RequireSpecific("no_such_tool")));

        Assert.Equal("Echo: Rain?", whole.Text);
        Assert.Equal(ChatFinishReason.Stop, whole.FinishReason);
    }
}
