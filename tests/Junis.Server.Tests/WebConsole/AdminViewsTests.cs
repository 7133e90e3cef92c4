using System.Globalization;
using System.Text.Json.Nodes;
using Junis.Server.Auth;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// The views for a key holding <c>admin:read</c>, in a real browser: usage per day as a chart and the figures it is drawn
/// from, as the usage report has them; the organization's keys. A key without the scope is shown neither, and refused.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class AdminViewsTests(ConsoleFixture fixture)
{
    /// <summary>The report once the ledger, written a moment behind the answers, has stopped changing.</summary>
    private async Task<JsonNode> SettledUsageAsync()
    {
        using var admin = new HttpClient { BaseAddress = fixture.Address };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", fixture.AdminKey);
        JsonNode? last = null;
        for (var tries = 0; ; tries++)
        {
            using var response = await admin.GetAsync("/api/external/usage?group_by=day");
            var report = await response.ReadJsonAsync();
            if (last is not null && JsonNode.DeepEquals(last["total"], report["total"]))
                return report;
            Assert.True(tries < 20, "The usage report kept changing for 30 s.");
            last = report;
            await Task.Delay(1500);
        }
    }

    [Fact]
    public async Task UsageIsChartedPerDayWithTheReportsFigures()
    {
        using (var turn = await fixture.Server.Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Count me") } }))
            turn.EnsureSuccessStatusCode();
        var report = await SettledUsageAsync();
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(fixture.AdminKey);

        await console.NavLink("Usage").ClickAsync();

        await Expect(console.Page.Locator("figure.chart canvas")).ToBeVisibleAsync();
        await Expect(console.Page.Locator("figure.chart")).ToContainTextAsync("Requests");
        var total = console.Page.Locator("table tbody tr").Last;
        var english = CultureInfo.GetCultureInfo("en-US");
        await Expect(total.Locator("th")).ToHaveTextAsync("Total");
        await Expect(total.Locator("td").Nth(0)).ToHaveTextAsync(((long)report["total"]!["requests"]!).ToString("N0", english));
        await Expect(total.Locator("td").Nth(4)).ToHaveTextAsync(((long)report["total"]!["total_tokens"]!).ToString("N0", english));
        var today = console.Page.Locator("table tbody tr").Filter(new() { HasText = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) });
        await Expect(today).ToHaveCountAsync(1);
        console.AssertNoKeyInAnyAddressAndNoScriptError(fixture.Keys);
    }

    [Fact]
    public async Task TheOrganizationsKeysAreListedWithoutSecrets()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(fixture.AdminKey);

        await console.NavLink("Keys").ClickAsync();

        var rows = console.Page.Locator("table tbody tr");
        await Expect(rows).ToHaveCountAsync(3);
        var own = rows.Filter(new() { HasText = "console admin" });
        await Expect(own).ToContainTextAsync("this key");
        await Expect(own).ToContainTextAsync($"{ApiKeySecret.DisplayPrefix(fixture.AdminKey)}…");
        await Expect(own).ToContainTextAsync(Scopes.AdminRead);
        await Expect(rows.Filter(new() { HasText = "stream only" })).ToContainTextAsync("default");
        var page = await console.Page.ContentAsync();
        Assert.All(fixture.Keys, key => Assert.DoesNotContain(key, page));
        console.AssertNoKeyInAnyAddressAndNoScriptError(fixture.Keys);
    }

    [Fact]
    public async Task AKeyWithoutAdminReadSeesNeitherAndIsRefused()
    {
        await using var console = await ConsolePage.OpenAsync(fixture);
        await console.SignInAsync(JunisApp.Key);

        await Expect(console.NavLink("Sessions")).ToBeVisibleAsync();
        await Expect(console.NavLink("Usage")).ToBeHiddenAsync();
        await Expect(console.NavLink("Keys")).ToBeHiddenAsync();

        await console.Page.GotoAsync("/console/#/keys");
        await Expect(console.Alert).ToHaveTextAsync("This API key lacks the 'admin:read' scope.");
        await Expect(console.Page.Locator("table")).ToHaveCountAsync(0);
    }
}
