using System.Diagnostics;
using System.Text;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>
/// The built server run as a separate process, the way an operator runs it (<c>dotnet Junis.Server.dll …</c>):
/// for start-up failures and the administration commands. By default the build beside the tests, started in its
/// own folder, logging only warnings; an environment variable given as null is removed.
/// </summary>
public static class ServerProcess
{
    public sealed record Outcome(int ExitCode, string Output);

    public static async Task<Outcome> RunAsync(IEnumerable<string> arguments, IDictionary<string, string?> environment, TimeSpan timeout,
        string? serverFolder = null, string? workingDirectory = null)
    {
        using var process = Process.Start(StartInfo(arguments, environment, serverFolder, workingDirectory))!;
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The server did not exit within {timeout}: {await stdout}{await stderr}");
        }
        output.Append(await stdout).Append(await stderr);
        return new Outcome(process.ExitCode, output.ToString());
    }

    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, IDictionary<string, string?> environment,
        string? serverFolder = null, string? workingDirectory = null)
    {
        serverFolder ??= AppContext.BaseDirectory;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? serverFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(serverFolder, "Junis.Server.dll"));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        // Where the server reads its settings is for each test to say, not for the shell that runs the tests.
        start.Environment.Remove("ASPNETCORE_CONTENTROOT");
        start.Environment.Remove("DOTNET_CONTENTROOT");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        foreach (var (name, value) in environment)
        {
            if (value is null)
                start.Environment.Remove(name);
            else
                start.Environment[name] = value;
        }
        return start;
    }
}
