using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// An agent's model settings as the model server receives them: its model, its temperature beside the caller's, its
/// output cap over the caller's, and its provider, a second model server with a key of its own.
/// </summary>
public sealed class AgentSettingsTests : ScriptedAgentsTests
{
    private const string OtherKey = "sk-other-provider-secret";
    private readonly FakeOpenAIServer _other = new();

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Junis:Providers:other:Provider"] = "OpenAI";
        settings["Junis:Providers:other:BaseUrl"] = _other.BaseUrl;
        settings["Junis:Providers:other:ApiKey"] = OtherKey;
        settings["Junis:Providers:other:Model"] = "other-model";
        settings["Junis:Providers:other:TimeoutSeconds"] = "30";
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _other.DisposeAsync();
    }

    private async Task<JsonObject> AskAsync(object request)
    {
        var before = Model.Requests.Count;
        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before + 1, Model.Requests.Count);
        return Model.Requests[^1].Body;
    }

    private static object[] Question => [Api.UserMessage("How warm is it?")];

    private async Task StoreTunedOrchestratorAsync()
    {
        var front = LlmAgent("front");
        front.IsOrchestrator = true;
        front.Model = "agent-model";
        front.Temperature = 0.2;
        front.MaxOutputTokens = 100;
        await StoreAsync(App, [front]);
    }

    [Fact]
    public async Task TheAgentsModelTemperatureAndOutputCapGoToTheModelWhenTheCallerSetsNone()
    {
        await StoreTunedOrchestratorAsync();

        var sent = await AskAsync(new { messages = Question });

        Assert.Equal("agent-model", (string?)sent["model"]);
        Assert.Equal(0.2, (double)sent["temperature"]!, 5);
        // The default field for the output limit (Junis:Llm:MaxTokensField).
        Assert.Equal(100, (int)sent["max_completion_tokens"]!);
        Assert.Null(sent["max_tokens"]);
    }

    [Fact]
    public async Task TheCallersTemperatureWinsAndItsOutputLimitIsCappedByTheAgents()
    {
        await StoreTunedOrchestratorAsync();

        var higher = await AskAsync(new { messages = Question, temperature = 0.9, max_completion_tokens = 500 });
        var lower = await AskAsync(new { messages = Question, temperature = 0.0, max_tokens = 50 });

        Assert.Equal("agent-model", (string?)higher["model"]);
        Assert.Equal(0.9, (double)higher["temperature"]!, 5);
        Assert.Equal(100, (int)higher["max_completion_tokens"]!);
        // A caller's temperature of 0 is a temperature, not an absence of one.
        Assert.Equal(0.0, (double)lower["temperature"]!, 5);
        Assert.Equal(50, (int)lower["max_completion_tokens"]!);
    }

    [Fact]
    public async Task AnAgentWithoutSettingsLeavesTheCallersAndTheProvidersInPlace()
    {
        var front = LlmAgent("front");
        front.IsOrchestrator = true;
        await StoreAsync(App, [front]);

        var bare = await AskAsync(new { messages = Question });
        var callers = await AskAsync(new { messages = Question, temperature = 0.7, max_completion_tokens = 321 });

        Assert.Equal("fake-model", (string?)bare["model"]);
        Assert.Null(bare["temperature"]);
        Assert.Null(bare["max_completion_tokens"]);
        Assert.Equal(0.7, (double)callers["temperature"]!, 5);
        Assert.Equal(321, (int)callers["max_completion_tokens"]!);
    }

    [Fact]
    public async Task AnAgentOnAnotherProviderReachesItsServerWithItsKey()
    {
        // The orchestrator, on the default provider, hands over to a specialist on the other one.
        var front = LlmAgent("front", "specialist");
        front.IsOrchestrator = true;
        var specialist = LlmAgent("specialist");
        specialist.Provider = "other";
        await StoreAsync(App, [front, specialist]);
        Model.Handler = ByAgent(("front", Transfer("specialist")));
        _other.Handler = ByAgent(("specialist", Says("Twenty", " degrees.")));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = Question });
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Twenty degrees.", (string?)body["choices"]![0]!["message"]!["content"]);
        var toDefault = Assert.Single(Model.Requests);
        Assert.Equal(("front", "Bearer sk-upstream-secret", "fake-model"), (AgentOf(toDefault.Body), toDefault.Authorization, (string?)toDefault.Body["model"]));
        var toOther = Assert.Single(_other.Requests);
        Assert.Equal(("specialist", $"Bearer {OtherKey}", "other-model"), (AgentOf(toOther.Body), toOther.Authorization, (string?)toOther.Body["model"]));
    }

    [Fact]
    public async Task AnAgentsModelOnAnotherProviderGoesToThatProvider()
    {
        var tuned = LlmAgent("tuned");
        tuned.IsOrchestrator = true;
        tuned.Provider = "other";
        tuned.Model = "other-large";
        await StoreAsync(App, [tuned]);
        _other.Handler = ByAgent(("tuned", Says("Done.")));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = Question, stream = true });
        var events = await response.ReadEventsAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Done.", Heard(events));
        Assert.Empty(Model.Requests);
        var toOther = Assert.Single(_other.Requests);
        Assert.Equal(($"Bearer {OtherKey}", "other-large"), (toOther.Authorization, (string?)toOther.Body["model"]));
    }
}
