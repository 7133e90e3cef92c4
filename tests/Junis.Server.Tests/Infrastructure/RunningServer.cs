using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>
/// The built server as a process serving on a free port of 127.0.0.1 until disposed, with a client that sends
/// <see cref="JunisApp.Key"/> (give it as <c>Junis__Auth__BootstrapKey</c>) and every line the process has written.
/// </summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private RunningServer(Process process, Uri address)
    {
        _process = process;
        Client = new HttpClient { BaseAddress = address };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", JunisApp.Key);
    }

    public HttpClient Client { get; }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
                return [.. _lines];
        }
    }

    /// <summary>Starts the server as <see cref="ServerProcess.StartInfo"/> describes and returns once it is ready.</summary>
    public static async Task<RunningServer> StartAsync(IEnumerable<string> arguments, IDictionary<string, string?> environment,
        string? serverFolder = null, string? workingDirectory = null)
    {
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var start = ServerProcess.StartInfo(["--urls", address.ToString(), .. arguments], environment, serverFolder, workingDirectory);
        var server = new RunningServer(Process.Start(start)!, address);
        server._process.OutputDataReceived += server.Collect;
        server._process.ErrorDataReceived += server.Collect;
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The first line written that matches, once it has been written.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (Lines.FirstOrDefault(match) is { } line)
                return line;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The server wrote no such line within 10 s:\n{string.Join('\n', Lines)}");
            await Task.Delay(20);
        }
    }

    /// <summary>Asks the server to stop as an orchestrator does, with SIGTERM.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Ends the server at once with SIGKILL, as <c>kill -9</c> or a crash does: it runs nothing more, not even a drain.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>The server's exit code, once it has exited of itself.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"The server exited with {_process.ExitCode}:\n{string.Join('\n', Lines)}");
            try
            {
                using var ready = await Client.GetAsync("/health/ready");
                if (ready.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"The server was not ready within 60 s:\n{string.Join('\n', Lines)}");
            await Task.Delay(100);
        }
    }

    private void Collect(object sender, DataReceivedEventArgs line)
    {
        if (line.Data is not null)
            lock (_lines)
                _lines.Add(line.Data);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
