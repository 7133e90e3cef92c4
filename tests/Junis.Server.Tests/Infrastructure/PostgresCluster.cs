using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server the tests run against, one per test run: the server named by <c>JUNIS_TEST_POSTGRES</c>
/// (a connection string whose role may create databases), or else a throwaway cluster of the installed PostgreSQL,
/// created in a temporary folder on a free port of 127.0.0.1 and removed when the tests end. Each test takes a
/// database of its own, copied from one the migrations have brought up to date. Without PostgreSQL the tests that
/// need it fail, saying how to get it.
/// </summary>
public static class PostgresCluster
{
    public const string ServerVariable = "JUNIS_TEST_POSTGRES";
    private const string Template = "junis_template";
    private static readonly Lazy<Task<NpgsqlConnectionStringBuilder>> Server = new(StartAsync);
    private static int _databases;

    /// <summary>
    /// A new database holding the current schema, or nothing at all when <paramref name="empty"/>: its connection string,
    /// and a handle that drops it.
    /// </summary>
    public static async Task<TestDatabase> CreateDatabaseAsync(bool empty = false)
    {
        var server = await Server.Value;
        var name = string.Create(CultureInfo.InvariantCulture, $"junis_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}");
        await ExecuteAsync(server, empty ? $"CREATE DATABASE {name}" : $"CREATE DATABASE {name} TEMPLATE {Template}");
        return new TestDatabase(new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name }.ConnectionString, server, name);
    }

    /// <summary>A database of the test cluster; dropped, with any connection still open to it, when disposed.</summary>
    public sealed class TestDatabase(string connectionString, NpgsqlConnectionStringBuilder server, string name) : IAsyncDisposable
    {
        public string ConnectionString { get; } = connectionString;

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(server, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnectionStringBuilder server, string sql)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<NpgsqlConnectionStringBuilder> StartAsync()
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } given
            ? new NpgsqlConnectionStringBuilder(given)
            : await ThrowawayCluster.StartAsync();
        server.Database ??= "postgres";
        // Several runs may share a server: each makes its own template.
        await ExecuteAsync(server, $"DROP DATABASE IF EXISTS {Template} WITH (FORCE)");
        await ExecuteAsync(server, $"CREATE DATABASE {Template}");
        var template = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = Template, Pooling = false };
        await using (var db = new PostgresJunisDb(new DbContextOptionsBuilder<PostgresJunisDb>().UseNpgsql(template.ConnectionString).Options))
            await DatabaseStartup.MigrateAsync(db, CancellationToken.None);
        return server;
    }

    /// <summary>A cluster of the installed PostgreSQL in a temporary folder, run as <c>postgres</c> when the tests run as root.</summary>
    private static class ThrowawayCluster
    {
        private const string User = "junis";
        private const string Prefix = "junis-test-postgres-";
        private static string? _folder;

        /// <summary>Clusters of earlier runs that were stopped but whose folder outlived their test host.</summary>
        private static void RemoveStopped()
        {
            foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
            {
                if (!File.Exists(Path.Combine(folder, "data", "postmaster.pid")))
                    TryDelete(folder);
            }
        }

        private static void TryDelete(string folder)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Removed by the next run.
            }
            catch (UnauthorizedAccessException)
            {
                // Removed by the next run.
            }
        }

        public static async Task<NpgsqlConnectionStringBuilder> StartAsync()
        {
            var bin = Binaries() ?? throw new InvalidOperationException(
                "These tests need PostgreSQL. Install it (apt-get install -y postgresql), or set " +
                $"{ServerVariable} to the connection string of a server whose role may create databases.");
            RemoveStopped();
            var password = Convert.ToHexString(Guid.NewGuid().ToByteArray());
            var folder = Directory.CreateTempSubdirectory(Prefix).FullName;
            var data = Path.Combine(folder, "data");
            var passwordFile = Path.Combine(folder, "password");
            await File.WriteAllTextAsync(passwordFile, password);
            var asRoot = Environment.UserName == "root";
            if (asRoot)
                await RunAsync("chown", ["-R", "postgres:postgres", folder]);
            await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", User, "--auth=scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-sync"], asRoot);
            var port = FreePort();
            // The cluster is the tests' alone and rebuilt each run: nothing it holds needs to survive a crash of the machine.
            string[] options = [$"-p {port}", $"-k {folder}", "-c listen_addresses=127.0.0.1", "-c max_connections=400", "-c fsync=off",
                "-c full_page_writes=off", "-c shared_buffers=64MB"];
            await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(folder, "log"), "-o", string.Join(' ', options), "-w", "start"], asRoot);
            _folder = folder;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(bin, data, asRoot);
            return new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1", Port = port, Username = User, Password = password, Database = "postgres",
            };
        }

        private static void Stop(string bin, string data, bool asRoot)
        {
            try
            {
                RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"], asRoot).GetAwaiter().GetResult();
            }
            finally
            {
                TryDelete(_folder!);
            }
        }

        /// <summary>The newest installed PostgreSQL's programs: Debian keeps each version apart, others put them on the path.</summary>
        private static string? Binaries()
        {
            var debian = Directory.Exists("/usr/lib/postgresql")
                ? Directory.EnumerateDirectories("/usr/lib/postgresql")
                    .Select(d => Path.Combine(d, "bin"))
                    .Where(d => File.Exists(Path.Combine(d, "initdb")))
                    .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var version) ? version : 0)
                    .FirstOrDefault()
                : null;
            return debian ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
                .FirstOrDefault(d => d.Length > 0 && File.Exists(Path.Combine(d, "initdb")));
        }

        private static async Task RunAsync(string program, IEnumerable<string> arguments, bool asPostgres = false)
        {
            var start = new ProcessStartInfo(asPostgres ? "runuser" : program) { RedirectStandardOutput = true, RedirectStandardError = true };
            if (asPostgres)
            {
                foreach (var argument in (string[])["-u", "postgres", "--", program])
                    start.ArgumentList.Add(argument);
            }
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output}{await error}");
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
