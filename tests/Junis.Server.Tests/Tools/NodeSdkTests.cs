using System.Diagnostics;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Tools;

/// <summary>
/// The official Node SDK's stream helper accepts what the server streams: text, keyword tool calls, model tool
/// calls in pieces, and two choices. It rejects a missing role or finish_reason and malformed tool calls.
/// </summary>
public sealed class NodeSdkTests
{
    private static readonly string Checks = Path.Combine(RepositoryRoot(), "tests", "sdk-node");

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Junis.Server.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("The repository root was not found above the test binaries.");
    }

    private static readonly SemaphoreSlim Install = new(1, 1);

    private static async Task<(int ExitCode, string Output)> RunAsync(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = Checks, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} could not be started; Node.js 20 and npm are needed.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await output + await errors);
    }

    /// <summary>Installs the SDK at the version package-lock.json pins, once.</summary>
    private static async Task EnsureSdkAsync()
    {
        await Install.WaitAsync();
        try
        {
            if (!Directory.Exists(Path.Combine(Checks, "node_modules", "openai")))
            {
                var (code, output) = await RunAsync("npm", "ci", "--no-audit", "--no-fund");
                Assert.True(code == 0, $"npm ci failed: {output}");
            }
        }
        finally
        {
            Install.Release();
        }
    }

    private static async Task<JsonNode> StreamAsync(JunisApp app, object request)
    {
        await EnsureSdkAsync();
        var (code, output) = await RunAsync("node", "stream-helper.mjs", $"{app.ClientOptions.BaseAddress}api/external/v1", JunisApp.Key,
            System.Text.Json.JsonSerializer.Serialize(request));
        Assert.True(code == 0, $"the stream helper rejected the stream: {output}");
        return JsonNode.Parse(output)!;
    }

    private static JunisApp OnARealSocket(Dictionary<string, string?>? settings = null)
    {
        var app = new JunisApp(settings);
        app.UseKestrel(0);
        app.StartServer();
        return app;
    }

    private static readonly object EndCall = new
    {
        type = "function",
        function = new { name = "end_call", parameters = new { type = "object", properties = new { reason = new { type = "string" }, message = new { type = "string" } }, required = new[] { "reason" } } },
    };

    [Fact]
    public async Task TheHelperAcceptsAStreamedAnswer()
    {
        using var app = OnARealSocket();

        var completion = await StreamAsync(app, new { messages = new[] { Api.UserMessage("Tell me a story") }, stream_options = new { include_usage = true } });

        Assert.Equal("Echo: Tell me a story", (string)completion["choices"]![0]!["message"]!["content"]!);
        Assert.Equal("stop", (string)completion["choices"]![0]!["finish_reason"]!);
        Assert.True((int)completion["usage"]!["total_tokens"]! > 0);
    }

    [Fact]
    public async Task TheHelperAcceptsAKeywordToolCall()
    {
        using var app = OnARealSocket();

        var completion = await StreamAsync(app, new { messages = new[] { Api.UserMessage("goodbye") }, tools = new[] { EndCall } });

        var choice = completion["choices"]![0]!;
        Assert.Equal("tool_calls", (string)choice["finish_reason"]!);
        var call = choice["message"]!["tool_calls"]![0]!;
        Assert.Equal("end_call", (string)call["function"]!["name"]!);
        Assert.Equal("Echo: goodbye", (string)JsonNode.Parse((string)call["function"]!["arguments"]!)!["message"]!);
    }

    [Fact]
    public async Task TheHelperAcceptsTwoChoices()
    {
        using var app = OnARealSocket();

        var completion = await StreamAsync(app, new { messages = new[] { Api.UserMessage("twice") }, n = 2 });

        Assert.Equal(["Echo: twice", "Echo: twice"], completion["choices"]!.AsArray().Select(c => (string)c!["message"]!["content"]!));
    }

    [Fact]
    public async Task TheHelperAcceptsAModelToolCallStreamedInPieces()
    {
        await using var model = new FakeOpenAIServer { Handler = (context, body) => FakeOpenAIServer.ToolCallAsync(context, body, "get_weather", ["{\"city\"", ":\"Seo", "ul\"}"]) };
        using var app = OnARealSocket(model.Settings());
        var weather = new { type = "function", function = new { name = "get_weather", parameters = new { type = "object", properties = new { city = new { type = "string" } } } } };

        var completion = await StreamAsync(app, new { messages = new[] { Api.UserMessage("Weather?") }, tools = new[] { weather } });

        var call = completion["choices"]![0]!["message"]!["tool_calls"]![0]!;
        Assert.Equal("call_fake1", (string)call["id"]!);
        Assert.Equal("get_weather", (string)call["function"]!["name"]!);
        Assert.Equal("{\"city\":\"Seoul\"}", (string)call["function"]!["arguments"]!);
    }
}
