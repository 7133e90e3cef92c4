using System.Net;
using Junis.Server.Tests.Infrastructure;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// An agent carries its provider's chain: on a provider whose fallback is the default one, the agent is answered
/// by the fallback, with the model that provider is configured with, when its own provider fails.
/// </summary>
public sealed class AgentFallbackTests : ScriptedAgentsTests
{
    private readonly FakeOpenAIServer _other = new();

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Junis:Providers:other:Provider"] = "OpenAI";
        settings["Junis:Providers:other:BaseUrl"] = _other.BaseUrl;
        settings["Junis:Providers:other:Model"] = "other-model";
        settings["Junis:Providers:other:Fallbacks:0"] = "default";
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _other.DisposeAsync();
    }

    [Fact]
    public async Task AnAgentWhoseProviderFailsIsAnsweredByItsFallback()
    {
        var tuned = LlmAgent("tuned");
        tuned.IsOrchestrator = true;
        tuned.Provider = "other";
        tuned.Model = "other-large";
        await StoreAsync(App, [tuned]);
        _other.Handler = (context, _) =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        };
        Model.Handler = ByAgent(("tuned", Says("Answered", " anyway.")));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("Still there?") }, stream = true });
        var events = await response.ReadEventsAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Answered anyway.", Heard(events));
        Assert.Equal("other-large", (string?)Assert.Single(_other.Requests).Body["model"]);
        // The fallback is sent its own model, not one only the agent's provider knows.
        Assert.Equal("fake-model", (string?)Assert.Single(Model.Requests).Body["model"]);
        var session = response.Headers.GetValues("X-Session-Id").Single();
        using var messages = await App.CreateAuthorizedClient().GetAsync($"/api/external/sessions/{session}/messages");
        var reply = (await messages.ReadJsonAsync())["messages"]!.AsArray()[^1]!;
        Assert.Equal(("tuned", "default"), ((string?)reply["agent"], (string?)reply["provider"]));
    }
}
