using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Junis.Server.Auth;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// The browser tests share one server and one browser, and run one at a time, apart from the rest of the suite: a
/// browser's work would slow the tests that time a server, as theirs would slow a page.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserTests : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "Web console";
}

/// <summary>
/// The built server as a process (Echo answering, a word every few milliseconds so a reply visibly streams), its
/// bootstrap key, an administrator's key and a key that may only stream, made with the admin commands as an operator
/// makes them; and Debian's Chromium, driven by Playwright.
/// </summary>
public sealed partial class ConsoleFixture : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"junis-console-{Guid.NewGuid():N}.db");
    private IPlaywright? _playwright;

    public RunningServer Server { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Every scope, <c>admin:read</c> included.</summary>
    public string AdminKey { get; private set; } = null!;

    /// <summary>Only <c>orchestrator:stream</c>: no sessions, no usage, no keys.</summary>
    public string StreamOnlyKey { get; private set; } = null!;

    public IEnumerable<string> Keys => [JunisApp.Key, AdminKey, StreamOnlyKey];

    public Uri Address => Server.Client.BaseAddress!;

    private Dictionary<string, string?> Settings => new()
    {
        ["ConnectionStrings__Junis"] = $"Data Source={_database}",
        ["Junis__Auth__BootstrapKey"] = JunisApp.Key,
        ["Junis__Llm__TokenDelayMs"] = "40",
        ["Junis__RateLimits__DefaultPerMinute"] = "1000000",
        ["Junis__RateLimits__DefaultPerHour"] = "1000000",
    };

    public async Task InitializeAsync()
    {
        var chromium = FindChromium();
        Server = await RunningServer.StartAsync([], Settings);
        AdminKey = await CreateKeyAsync("console admin", [.. Scopes.Known]);
        StreamOnlyKey = await CreateKeyAsync("stream only", [Scopes.Stream]);
        // Beside the rest of the suite on a small machine, a page may take longer than Playwright's 5 s default.
        Assertions.SetDefaultExpectTimeout(15_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true });
    }

    /// <summary>Runs an admin command against the server's database, as an operator does.</summary>
    public async Task<string> AdminAsync(params string[] arguments)
    {
        var outcome = await ServerProcess.RunAsync(arguments, Settings, TimeSpan.FromSeconds(60));
        Assert.True(outcome.ExitCode == 0, outcome.Output);
        return outcome.Output;
    }

    /// <summary>A new key, once the running server knows it (it reloads its keys within a second).</summary>
    private async Task<string> CreateKeyAsync(string name, string[] scopes)
    {
        var key = Secret().Match(await AdminAsync("keys", "create", "--org", BootstrapKey.OrganizationName, "--name", name,
            "--scopes", string.Join(',', scopes))).Value;
        using var client = new HttpClient { BaseAddress = Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        for (var tries = 0; ; tries++)
        {
            using var response = await client.GetAsync("/api/external/keys/current");
            if (response.StatusCode == HttpStatusCode.OK)
                return key;
            Assert.True(tries < 100, $"The server did not take the key '{name}' within 10 s.");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Debian's Chromium: Playwright cannot download a browser of its own here. Missing, the browser tests fail, and say
    /// how to install it (.ci/run does).
    /// </summary>
    private static string FindChromium() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("The browser tests need Chromium: apt-get install -y chromium (.ci/run installs it when it is missing).");

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.CloseAsync();
        _playwright?.Dispose();
        if (Server is not null)
            await Server.DisposeAsync();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }

    [GeneratedRegex("jns_live_[A-Za-z0-9]{32}")]
    private static partial Regex Secret();
}
