using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Tests.Scaling;

/// <summary>
/// Instances of the built server, each a process on a port of its own, all on one new PostgreSQL database with the
/// same settings: a deployment behind a load balancer, whose part the tests play. Disposing ends the instances still
/// running and drops the database.
/// </summary>
public sealed class Fleet : IAsyncDisposable
{
    private readonly PostgresCluster.TestDatabase _database;
    private readonly Dictionary<string, string?> _environment;
    private readonly List<HttpClient> _clients = [];

    private Fleet(PostgresCluster.TestDatabase database, Dictionary<string, string?> environment, RunningServer[] instances)
    {
        _database = database;
        _environment = environment;
        Instances = instances;
    }

    public IReadOnlyList<RunningServer> Instances { get; }

    public string ConnectionString => _database.ConnectionString;

    /// <summary>
    /// Starts <paramref name="instances"/> instances at once, with <paramref name="settings"/> as environment variables, on a
    /// database the migrations have brought up to date, or on an empty one when <paramref name="emptyDatabase"/>.
    /// </summary>
    public static async Task<Fleet> StartAsync(int instances, IReadOnlyDictionary<string, string?>? settings = null, bool emptyDatabase = false)
    {
        var database = await PostgresCluster.CreateDatabaseAsync(emptyDatabase);
        var environment = new Dictionary<string, string?>
        {
            ["Junis__Database__Provider"] = "PostgreSQL",
            ["ConnectionStrings__Junis"] = database.ConnectionString,
            ["Junis__Auth__BootstrapKey"] = JunisApp.Key,
            // A test about limits sets them on its own key.
            ["Junis__RateLimits__DefaultPerMinute"] = "1000000",
            ["Junis__RateLimits__DefaultPerHour"] = "1000000",
            // Every client here comes from 127.0.0.1, and each wait for a new key to be loaded counts failed authentications:
            // the address must not be blocked for them, or a revoked key would be answered 429 instead of 401.
            ["Junis__RateLimits__FailedAuthPerMinute"] = "1000000",
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
            environment[name] = value;

        var starting = Enumerable.Range(0, instances).Select(_ => RunningServer.StartAsync([], environment)).ToList();
        try
        {
            return new Fleet(database, environment, await Task.WhenAll(starting));
        }
        catch
        {
            foreach (var started in starting.Where(s => s.IsCompletedSuccessfully))
                await started.Result.DisposeAsync();
            await database.DisposeAsync();
            throw;
        }
    }

    /// <summary>An administration command (<c>orgs …</c>, <c>keys …</c>) run as a process against the fleet's database.</summary>
    public Task<ServerProcess.Outcome> AdminAsync(params string[] arguments) =>
        ServerProcess.RunAsync(arguments, _environment, TimeSpan.FromSeconds(60));

    /// <summary>One client per instance, in the order of <see cref="Instances"/>, each sending <paramref name="key"/>.</summary>
    public HttpClient[] Clients(string key)
    {
        var clients = Instances.Select(instance =>
        {
            var client = new HttpClient { BaseAddress = instance.Client.BaseAddress };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return client;
        }).ToArray();
        lock (_clients)
            _clients.AddRange(clients);
        return clients;
    }

    /// <summary>
    /// A new organization with one key of every scope, returned once every instance accepts it. A second key, written in
    /// the same transaction and so loaded by each instance in the same refresh, is what asks: the requests that wait take
    /// nothing from the limits of the key returned.
    /// </summary>
    public async Task<string> CreateKeyAsync(string organization, int? perMinute = null)
    {
        var secret = ApiKeySecret.Generate();
        var probe = ApiKeySecret.Generate();
        await using (var db = new PostgresJunisDb(new DbContextOptionsBuilder<PostgresJunisDb>().UseNpgsql(_database.ConnectionString).Options))
        {
            var org = db.Organizations.Add(new Organization { Name = organization, CreatedAt = DateTime.UtcNow }).Entity;
            var key = db.ApiKeys.Add(ApiKeySecret.NewKey(org.Id, organization, secret, Scopes.All, DateTime.UtcNow)).Entity;
            key.PerMinute = perMinute;
            db.ApiKeys.Add(ApiKeySecret.NewKey(org.Id, "probe", probe, Scopes.All, DateTime.UtcNow));
            await db.SaveChangesAsync();
        }
        await Task.WhenAll(Clients(probe).Select(client => WaitForStatusAsync(client, HttpStatusCode.OK)));
        return secret;
    }

    /// <summary>How long until the instance answers a request for the models with <paramref name="wanted"/>; at most 10 s.</summary>
    public static async Task<TimeSpan> WaitForStatusAsync(HttpClient client, HttpStatusCode wanted)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using (var response = await client.GetAsync("/api/external/v1/models"))
            {
                if (response.StatusCode == wanted)
                    return clock.Elapsed;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
                throw new TimeoutException($"{client.BaseAddress} did not answer {(int)wanted} within 10 s.");
            await Task.Delay(10);
        }
    }

    /// <summary>The exceptions the instances have logged as errors, for the message of a test that failed.</summary>
    public string Errors()
    {
        var errors = Instances.SelectMany((instance, i) => instance.Lines.Select(line => Error(i, line)).OfType<string>())
            .Distinct().Take(10).ToList();
        return errors.Count == 0 ? "The instances logged no exceptions." : "The instances logged:\n" + string.Join('\n', errors);
    }

    /// <summary>The exception of a line logged at Error or Fatal (one JSON object a line), as the chain of its messages.</summary>
    private static string? Error(int instance, string line)
    {
        try
        {
            var entry = JsonNode.Parse(line);
            if ((string?)entry?["@l"] is not ("Error" or "Fatal") || (string?)entry["@x"] is not { } exception)
                return null;
            // The messages of the exception and its inner ones come before the first stack frame.
            var chain = exception.Split('\n').Select(l => l.Trim())
                .TakeWhile(l => !l.StartsWith("at ", StringComparison.Ordinal) && !l.StartsWith("Exception data", StringComparison.Ordinal));
            return $"instance {instance}: {string.Join(' ', chain)}";
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
            client.Dispose();
        foreach (var instance in Instances)
            await instance.DisposeAsync();
        await _database.DisposeAsync();
    }
}

/// <summary>
/// The tests of several instances: each runs three servers, or kills or stops one and times what follows, so they run
/// alone, after the rest, and one at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeveralInstances : ICollectionFixture<Figures>
{
    public const string Name = "Several instances";
}
