using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// The caller's own tools beside the server's functions: offered to the agents that speak to the caller, their calls
/// passed to the caller as the only tool calls it hears of.
/// </summary>
public sealed class ClientToolAgentTests : ScriptedAgentsTests
{
    private static readonly object[] Tools =
    [
        new
        {
            type = "function",
            function = new
            {
                name = "get_weather", description = "The weather in a city",
                parameters = new { type = "object", properties = new { city = new { type = "string" } }, required = new[] { "city" } },
            },
        },
    ];

    private static readonly object[] Question = [Api.UserMessage("How warm is it in Seoul?")];

    protected override Task SeedAsync()
    {
        var support = LlmAgent("support", "weather");
        support.IsOrchestrator = true;
        return StoreAsync(App, [support, LlmAgent("weather")]);
    }

    private static Func<HttpContext, JsonObject, Task> CallsGetWeather() =>
        (context, body) => FakeOpenAIServer.ToolCallAsync(context, body, "get_weather", ["{\"city\":", "\"Seoul\"}"], id: "call_weather");

    /// <summary>Every tool-call piece a stream carried.</summary>
    private static List<JsonNode> ToolCallPieces(IEnumerable<string> events) =>
        [.. events.Chunks().Where(c => c["choices"]!.AsArray().Count > 0).SelectMany(c => c["choices"]![0]!["delta"]!["tool_calls"]?.AsArray() ?? [])
            .Select(p => p!)];

    private static void AssertOneGetWeatherCallAtIndexZero(List<string> events)
    {
        var pieces = ToolCallPieces(events);
        Assert.NotEmpty(pieces);
        Assert.All(pieces, p => Assert.Equal(0, (int)p["index"]!));
        Assert.Equal(["call_weather"], pieces.Select(p => (string?)p["id"]).OfType<string>());
        Assert.Equal(["get_weather"], pieces.Select(p => (string?)p["function"]?["name"]).OfType<string>());
        Assert.Equal("{\"city\":\"Seoul\"}", string.Concat(pieces.Select(p => (string?)p["function"]?["arguments"])));
        Assert.Equal("tool_calls", FinishReason(events));
        Assert.DoesNotContain("transfer_to_agent", string.Join("\n", events), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOrchestratorIsOfferedTheCallersToolBesideTheTransferAndItsCallReachesTheCaller()
    {
        Model.Handler = ByAgent(("support", CallsGetWeather()));

        var (response, events, broken) = await App.CreateAuthorizedClient().StreamAsync(new { messages = Question, tools = Tools, stream = true });
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(broken);
        AssertOneGetWeatherCallAtIndexZero(events);
        var toSupport = Assert.Single(Model.Requests).Body;
        Assert.Equal(["get_weather", "transfer_to_agent"], FunctionsOffered(toSupport));
    }

    [Fact]
    public async Task AWholeAnswerCarriesTheOrchestratorsClientCall()
    {
        Model.Handler = ByAgent(("support", CallsGetWeather()));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = Question, tools = Tools });
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("tool_calls", (string?)body["choices"]![0]!["finish_reason"]);
        var call = Assert.Single(body["choices"]![0]!["message"]!["tool_calls"]!.AsArray())!;
        Assert.Equal(("call_weather", "get_weather", "{\"city\":\"Seoul\"}"),
            ((string?)call["id"], (string?)call["function"]!["name"], (string?)call["function"]!["arguments"]));
    }

    [Fact]
    public async Task AfterATransferTheSubAgentsClientCallIsTheFirstAndOnlyCallTheCallerHears()
    {
        Model.Handler = ByAgent(("support", Transfer("weather")), ("weather", CallsGetWeather()));

        var (response, events, broken) = await App.CreateAuthorizedClient().StreamAsync(new { messages = Question, tools = Tools, stream = true });
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(broken);
        AssertOneGetWeatherCallAtIndexZero(events);
        Assert.Equal(["support", "weather"], Model.Requests.Select(r => AgentOf(r.Body)));
        Assert.Equal(["get_weather", "transfer_to_agent"], FunctionsOffered(Model.Requests[0].Body));
        // The agent handed to speaks to the caller: it is offered the caller's tool, and has no sub-agents to transfer to.
        Assert.Equal(["get_weather"], FunctionsOffered(Model.Requests[1].Body));
    }

    [Fact]
    public async Task OnlyTheAgentThatSpeaksToTheCallerIsOfferedItsTools()
    {
        var pipeline = WorkflowAgent("pipeline", AgentTypes.Sequential, "researcher", "presenter");
        pipeline.IsOrchestrator = true;
        await StoreAsync(App, [pipeline, LlmAgent("researcher"), LlmAgent("presenter")], "tools-org");
        var key = await App.CreateKeyAsync("tools-org");
        Model.Handler = ByAgent(("researcher", Says("Notes.")), ("presenter", CallsGetWeather()));

        var (response, events, broken) = await App.CreateAuthorizedClient(key).StreamAsync(
            new { messages = Question, tools = Tools, tool_choice = "required", stream = true });
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(broken);
        AssertOneGetWeatherCallAtIndexZero(events);
        Assert.Equal(["researcher", "presenter"], Model.Requests.Select(r => AgentOf(r.Body)));
        // The researcher is heard only through its output: no tools, and no tool choice without them.
        var toResearcher = Model.Requests[0].Body;
        Assert.Null(toResearcher["tools"]);
        Assert.Null(toResearcher["tool_choice"]);
        var toPresenter = Model.Requests[1].Body;
        Assert.Equal(["get_weather"], FunctionsOffered(toPresenter));
        Assert.Equal("required", (string?)toPresenter["tool_choice"]);
    }
}
