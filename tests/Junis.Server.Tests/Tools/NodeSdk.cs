using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Tools;

/// <summary>
/// Runs the scripts in tests/sdk-node, which call the server through the official openai-node SDK, and reads the JSON
/// they print. The SDK is installed from package-lock.json the first time it is needed, so a fresh clone needs
/// only Node.js and npm.
/// </summary>
internal static class NodeSdk
{
    public static readonly string Checks = Path.Combine(Repository.Root, "tests", "sdk-node");

    private static readonly SemaphoreSlim Install = new(1, 1);
    private static bool _installed;

    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = Checks, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} could not be started; Node.js 20 and npm are needed.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await output, await errors);
    }

    /// <summary>
    /// Installs the packages package-lock.json pins (npm ci) unless every dependency package.json names is already in
    /// node_modules at its pinned version: a node_modules left from before a package was added or upgraded is replaced.
    /// </summary>
    public static async Task EnsureInstalledAsync()
    {
        await Install.WaitAsync();
        try
        {
            if (_installed)
                return;
            if (!AllDependenciesInstalled())
            {
                var (code, output, errors) = await RunAsync("npm", "ci", "--no-audit", "--no-fund");
                Assert.True(code == 0, $"npm ci failed: {output}{errors}");
                Assert.True(AllDependenciesInstalled(), "npm ci did not install every dependency package.json names at its pinned version.");
            }
            _installed = true;
        }
        finally
        {
            Install.Release();
        }
    }

    // package.json pins exact versions, so an installed package either is the pinned one or is not.
    private static bool AllDependenciesInstalled()
    {
        var dependencies = JsonNode.Parse(File.ReadAllText(Path.Combine(Checks, "package.json")))!["dependencies"]!.AsObject();
        return dependencies.All(dependency =>
        {
            var installed = Path.Combine(Checks, "node_modules", dependency.Key, "package.json");
            return File.Exists(installed)
                && (string?)JsonNode.Parse(File.ReadAllText(installed))!["version"] == (string?)dependency.Value;
        });
    }

    /// <summary>Runs <c>node <paramref name="script"/></c> against <paramref name="app"/> with the test key, and parses what it prints.</summary>
    public static async Task<JsonNode> RunScriptAsync(JunisApp app, string script, params string[] arguments)
    {
        await EnsureInstalledAsync();
        var (code, output, errors) = await RunAsync("node", [script, BaseUrl(app), JunisApp.Key, .. arguments]);
        Assert.True(code == 0, $"{script} failed (exit code {code}): {output}{errors}");
        return JsonNode.Parse(output) ?? throw new InvalidOperationException($"{script} printed JSON null.");
    }

    public static string Json(object request) => JsonSerializer.Serialize(request);

    public static string BaseUrl(JunisApp app) => $"{app.ClientOptions.BaseAddress}api/external/v1";

    /// <summary>The server on a real socket, as Node needs; the Echo model unless <paramref name="settings"/> say otherwise.</summary>
    public static JunisApp OnARealSocket(Dictionary<string, string?>? settings = null)
    {
        var app = new JunisApp(settings);
        app.UseKestrel();
        app.StartServer();
        return app;
    }
}
