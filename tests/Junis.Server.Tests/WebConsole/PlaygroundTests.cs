using System.Net;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// The Playground in a real browser: a reply streams in as the server sends it, under the session the server named,
/// with the time to its first words; the next turn continues that session; an agent can answer in the orchestrator's place.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class PlaygroundTests(ConsoleFixture fixture)
{
    /// <summary>Every text the last reply showed, in order, noted by the page itself as it changed.</summary>
    private const string WatchTheReply = """
        () => {
          window.replyTexts = [];
          new MutationObserver(() => {
            const reply = document.querySelector(".chat > .role-assistant:last-child .content");
            if (reply) window.replyTexts.push(reply.textContent);
          }).observe(document.querySelector(".chat"), { subtree: true, childList: true, characterData: true });
        }
        """;

    private static async Task SendAsync(ConsolePage console, string text)
    {
        await console.Page.GetByLabel("Message").FillAsync(text);
        await console.Page.GetByLabel("Message").PressAsync("Enter");
    }

    [Fact]
    public async Task AReplyStreamsUnderTheSessionTheServerNamedWithItsTimeToFirstToken()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(fixture.AdminKey);
        await console.NavLink("Playground").ClickAsync();
        await Expect(console.Page.GetByLabel("Message")).ToBeVisibleAsync();
        await console.Page.EvaluateAsync(WatchTheReply);

        await SendAsync(console, "Tell me a story about the sea");

        var reply = console.Page.Locator(".chat > .role-assistant .content");
        await Expect(reply).ToHaveTextAsync("Echo: Tell me a story about the sea");
        var texts = await console.Page.EvaluateAsync<string[]>("window.replyTexts");
        Assert.True(texts.Where(t => t.Length > 0).Distinct().Count() > 2, $"The reply appeared at once: {string.Join(" | ", texts)}");
        await Expect(console.Page.Locator("#first-token")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+ ms$"));
        var sessionId = await console.Page.Locator("#session-id").TextContentAsync();
        Assert.True(Guid.TryParse(sessionId, out _), sessionId);

        await SendAsync(console, "And another one");
        await Expect(reply.Nth(1)).ToHaveTextAsync("Echo: And another one");

        await Expect(console.Page.Locator("#session-id")).ToHaveTextAsync(sessionId!);
        using var stored = await fixture.Server.Client.GetAsync($"/api/external/sessions/{sessionId}/messages");
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        var contents = (await stored.ReadJsonAsync())["messages"]!.AsArray().Select(m => (string?)m!["content"]);
        Assert.Equal(["Tell me a story about the sea", "Echo: Tell me a story about the sea", "And another one", "Echo: And another one"], contents);
        console.AssertNoKeyInAnyAddressAndNoScriptError(fixture.Keys);
    }

    [Fact]
    public async Task NewConversationStartsAnotherSession()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(fixture.AdminKey);
        await console.NavLink("Playground").ClickAsync();
        await SendAsync(console, "First");
        await Expect(console.Page.Locator(".chat > .role-assistant .content")).ToHaveTextAsync("Echo: First");
        var first = await console.Page.Locator("#session-id").TextContentAsync();

        await console.Page.GetByRole(AriaRole.Button, new() { Name = "New conversation" }).ClickAsync();
        await Expect(console.Page.Locator("#session-id")).ToHaveTextAsync("none yet");
        await Expect(console.Page.Locator(".chat > li")).ToHaveCountAsync(0);
        await SendAsync(console, "Second");
        await Expect(console.Page.Locator(".chat > .role-assistant .content")).ToHaveTextAsync("Echo: Second");

        await Expect(console.Page.Locator("#session-id")).Not.ToHaveTextAsync(first!);
    }

    [Fact]
    public async Task AnAgentCanAnswerInTheOrchestratorsPlace()
    {
        var name = $"billing{Guid.NewGuid():N}"[..16];
        var id = (await fixture.AdminAsync("agents", "create", "--org", "default", "--name", name, "--instruction", "You answer billing questions."))
            .Split('\n').Select(line => line.Trim()).First(line => Guid.TryParse(line, out _));
        await WaitUntilTheServerRunsAsync(id);
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(fixture.AdminKey);
        await console.NavLink("Playground").ClickAsync();

        await console.Page.GetByLabel("Answered by").SelectOptionAsync(new SelectOptionValue { Label = $"Agent: {name}" });
        await SendAsync(console, "Why was I charged twice?");

        await Expect(console.Page.Locator(".chat > .role-assistant .content")).ToHaveTextAsync("Echo: Why was I charged twice?");
        await Expect(console.Page.Locator("#session-id")).Not.ToHaveTextAsync("none yet");
    }

    /// <summary>The server loads agents a moment after they change.</summary>
    private async Task WaitUntilTheServerRunsAsync(string agent)
    {
        for (var tries = 0; ; tries++)
        {
            using var response = await fixture.Server.Client.PostAsync($"/api/external/agents/{agent}/chat/completions",
                Api.Json(new { messages = new[] { Api.UserMessage("Are you there?") } }));
            if (response.StatusCode == HttpStatusCode.OK)
                return;
            Assert.True(tries < 100, $"The server did not run the new agent within 10 s: {response.StatusCode}");
            await Task.Delay(100);
        }
    }
}
