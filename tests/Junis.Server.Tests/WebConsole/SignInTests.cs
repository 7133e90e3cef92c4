using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// Signing in with a key, in a real browser: the console shows the views the key's scopes allow and no other, the server
/// refuses the rest anyway, and the key is kept in the tab's session storage only, never in an address.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class SignInTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task SigningInShowsTheKeysViewsAndSigningOutForgetsTheKey()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);

        await console.SignInAsync(fixture.AdminKey);

        foreach (var view in new[] { "Sessions", "Playground", "Usage", "Keys" })
            await Expect(console.NavLink(view)).ToBeVisibleAsync();
        await Expect(console.Page.Locator("#who-key")).ToContainTextAsync("console admin");
        Assert.Equal(fixture.AdminKey, await console.Page.EvaluateAsync<string>("sessionStorage.getItem('junis.key')"));
        Assert.Equal(0, await console.Page.EvaluateAsync<int>("localStorage.length"));

        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();

        await Expect(console.Page.GetByLabel("API key")).ToBeVisibleAsync();
        Assert.Null(await console.Page.EvaluateAsync<string?>("sessionStorage.getItem('junis.key')"));
        console.AssertNoKeyInAnyAddressAndNoScriptError(fixture.Keys);
    }

    [Fact]
    public async Task AnUnknownKeyIsRefusedWithTheServersMessage()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.Page.GotoAsync("/console/");

        await console.Page.GetByLabel("API key").FillAsync("jns_live_" + new string('0', 32));
        await console.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await Expect(console.Page.Locator("#sign-in").GetByRole(AriaRole.Alert)).ToContainTextAsync("Invalid API key");
        await Expect(console.Page.GetByRole(AriaRole.Navigation, new() { Name = "Views" })).ToBeHiddenAsync();
        Assert.Null(await console.Page.EvaluateAsync<string?>("sessionStorage.getItem('junis.key')"));
    }

    [Fact]
    public async Task AKeyWithoutSessionsReadSeesNoSessionsAndTheServerRefusesThem()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);

        await console.SignInAsync(fixture.StreamOnlyKey);

        await Expect(console.NavLink("Playground")).ToBeVisibleAsync();
        foreach (var view in new[] { "Sessions", "Usage", "Keys" })
            await Expect(console.NavLink(view)).ToBeHiddenAsync();
        // The playground, the one view it may use, opens first.
        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Playground" })).ToBeVisibleAsync();

        // Opened by its address, the view shows the server's refusal.
        await console.Page.GotoAsync("/console/#/sessions");
        await Expect(console.Alert).ToHaveTextAsync("This API key lacks the 'sessions:read' scope.");
        var status = await console.Page.EvaluateAsync<int>(
            "fetch('/api/external/sessions', { headers: { Authorization: `Bearer ${sessionStorage.getItem('junis.key')}` } }).then(r => r.status)");
        Assert.Equal(403, status);
        console.AssertNoKeyInAnyAddressAndNoScriptError(fixture.Keys);
    }

    [Fact]
    public async Task TheKeyIsInNoAddressTheConsoleVisitsOrRequests()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(fixture.AdminKey);

        foreach (var view in new[] { "Sessions", "Playground", "Usage", "Keys" })
        {
            await console.NavLink(view).ClickAsync();
            await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = view, Exact = true })).ToBeVisibleAsync();
        }
        await console.NavLink("Playground").ClickAsync();
        await console.Page.GetByLabel("Message").FillAsync("Hello");
        await console.Page.GetByLabel("Message").PressAsync("Enter");
        await Expect(console.Page.Locator(".chat .role-assistant .content")).ToHaveTextAsync("Echo: Hello");
        await console.Page.ReloadAsync();
        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Playground" })).ToBeVisibleAsync();

        console.AssertNoKeyInAnyAddressAndNoScriptError(fixture.Keys);
    }

    [Fact]
    public async Task TheSessionsViewWorksOnAPhoneAndByKeyboard()
    {
        await using var console = await ConsolePage.OpenAsync(fixture, width: 390, height: 844);
        using (var turn = await fixture.Server.Client.PostAsync(Infrastructure.Api.Completions,
            Infrastructure.Api.Json(new { messages = new[] { Infrastructure.Api.UserMessage("Hello from a phone") } })))
            turn.EnsureSuccessStatusCode();
        await console.SignInAsync(fixture.AdminKey);

        // Signed in, the first view's heading has the focus; links are followed with Enter.
        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Sessions" })).ToBeFocusedAsync();
        await console.NavLink("Usage").FocusAsync();
        await console.Page.Keyboard.PressAsync("Enter");
        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Usage" })).ToBeFocusedAsync();
        await console.NavLink("Sessions").FocusAsync();
        await console.Page.Keyboard.PressAsync("Enter");
        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Sessions" })).ToBeFocusedAsync();
        var first = console.Page.Locator("table tbody a").First;
        await first.FocusAsync();
        await console.Page.Keyboard.PressAsync("Enter");
        await Expect(console.Page.GetByRole(AriaRole.Heading, new() { Name = "Session " })).ToBeFocusedAsync();

        // Nothing wider than the phone: the table scrolls in its own box, the nav wraps.
        await console.Page.GotoAsync("/console/#/sessions");
        await Expect(console.Page.Locator("table")).ToBeVisibleAsync();
        Assert.True(await console.Page.EvaluateAsync<int>("document.documentElement.scrollWidth") <= 390);
        var nav = await console.Page.GetByRole(AriaRole.Navigation, new() { Name = "Views" }).BoundingBoxAsync();
        Assert.True(nav!.X + nav.Width <= 390);
    }
}
