using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// <c>/docs/</c> in a real browser: Scalar renders the API's reference, its routes listed, from this server's files
/// alone; it asks nothing of another host.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class ApiReferenceTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task TheReferenceRendersTheApisRoutesWithNothingFromElsewhere()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);
        var elsewhere = new List<string>();
        // Anything from another host is noted and refused, so the page must render without it.
        await console.Page.RouteAsync("**/*", async route =>
        {
            if (new Uri(route.Request.Url).Authority == fixture.Address.Authority)
            {
                await route.ContinueAsync();
                return;
            }
            lock (elsewhere)
                elsewhere.Add(route.Request.Url);
            await route.AbortAsync();
        });

        await console.Page.GotoAsync("/docs/");

        await Expect(console.Page).ToHaveTitleAsync("Junis.Server API");
        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Junis.Server", Exact = true })).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(console.Page.GetByText("Creates a chat completion, answered by the organization's orchestrator").First).ToBeVisibleAsync();
        // The sections the routes are filed under, not the handlers' class names; "Models" is also Scalar's list of schemas.
        foreach (var section in new[] { "Chat completions", "Models", "Sessions", "Agents", "Usage", "Keys" })
            await Expect(console.Page.GetByRole(AriaRole.Link, new() { Name = section, Exact = true }).And(console.Page.Locator("[href^='#tag/']"))).ToBeVisibleAsync();
        await Expect(console.Page.GetByText("answered by the organization's orchestrator: whole or streamed, each turn kept in a session").First).ToBeVisibleAsync();
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Open Group - Sessions" }).ClickAsync();
        await Expect(console.Page.GetByText("/api/external/sessions/{id}/messages").First).ToBeVisibleAsync();
        Assert.Empty(elsewhere);
    }
}
