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
        foreach (var group in new[] { "SessionsApi", "AgentsApi", "UsageApi", "KeysApi" })
            await Expect(console.Page.GetByRole(AriaRole.Link, new() { Name = group, Exact = true })).ToBeVisibleAsync();
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Open Group - SessionsApi" }).ClickAsync();
        await Expect(console.Page.GetByText("/api/external/sessions/{id}/messages").First).ToBeVisibleAsync();
        Assert.Empty(elsewhere);
    }
}
