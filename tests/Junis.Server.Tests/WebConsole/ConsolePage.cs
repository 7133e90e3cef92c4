using System.Runtime.CompilerServices;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// One test's browser tab on the console, in a context of its own (its own session storage). It notes every address the
/// tab requested or went to, and every script error, and leaves a screenshot named after the test in
/// <c>tests/Junis.Server.Tests/TestResults/screenshots</c> when it closes, however the test ended.
/// </summary>
public sealed class ConsolePage : IAsyncDisposable
{
    public static string Screenshots { get; } = Path.Combine(Repository.Root, "tests", "Junis.Server.Tests", "TestResults", "screenshots");

    private readonly IBrowserContext _context;
    private readonly string _test;
    private readonly List<string> _addresses = [];
    private readonly List<string> _scriptErrors = [];

    private ConsolePage(IBrowserContext context, IPage page, string test)
    {
        _context = context;
        Page = page;
        _test = test;
        page.Request += (_, request) => Note(_addresses, request.Url);
        page.FrameNavigated += (_, frame) => Note(_addresses, frame.Url);
        page.PageError += (_, error) => Note(_scriptErrors, error);
        // A policy violation is only reported on the console.
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
                Note(_scriptErrors, message.Text);
        };
    }

    public IPage Page { get; }

    public static async Task<ConsolePage> OpenAsync(ConsoleFixture fixture, int width = 1200, int height = 800, [CallerMemberName] string test = "")
    {
        var context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = fixture.Address.ToString(),
            ViewportSize = new() { Width = width, Height = height },
        });
        return new ConsolePage(context, await context.NewPageAsync(), test);
    }

    /// <summary>Signs in as a user does: the key typed into the form, Enter pressed.</summary>
    public async Task SignInAsync(string key)
    {
        await Page.GotoAsync("/console/");
        await Page.GetByLabel("API key").FillAsync(key);
        await Page.GetByLabel("API key").PressAsync("Enter");
        await Expect(Page.GetByRole(AriaRole.Navigation, new() { Name = "Views" })).ToBeVisibleAsync();
    }

    public ILocator NavLink(string name) => Page.GetByRole(AriaRole.Navigation, new() { Name = "Views" }).GetByRole(AriaRole.Link, new() { Name = name });

    public ILocator Alert => Page.Locator("#view").GetByRole(AriaRole.Alert);

    /// <summary>No key in any address the tab requested or went to, and no script error or policy violation on the way.</summary>
    public void AssertNoKeyInAnyAddressAndNoScriptError(IEnumerable<string> keys)
    {
        List<string> addresses, errors;
        lock (_addresses)
            addresses = [.. _addresses];
        lock (_scriptErrors)
            errors = [.. _scriptErrors];
        Assert.NotEmpty(addresses);
        Assert.All(keys, key => Assert.DoesNotContain(addresses, address => address.Contains(key, StringComparison.Ordinal)));
        Assert.Empty(errors);
    }

    private static void Note(List<string> list, string item)
    {
        lock (list)
            list.Add(item);
    }

    public async ValueTask DisposeAsync()
    {
        Directory.CreateDirectory(Screenshots);
        await Page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, $"{_test}.png") });
        await _context.CloseAsync();
    }
}
