using System.Net.Http.Headers;
using Junis.Server.Auth;
using Junis.Server.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>
/// The real server in memory: the whole pipeline, the real EF Core model on a database of its own, the Echo model
/// unless a test says otherwise. One per test. On <see cref="Engine.Sqlite"/> the database is in memory (shared
/// between the server's connections, alive as long as this object); on <see cref="Engine.PostgreSql"/> it is a new
/// database of the tests' PostgreSQL server (<see cref="PostgresCluster"/>), dropped with this object.
/// </summary>
public sealed class JunisApp : WebApplicationFactory<Program>
{
    public const string Key = "jns_live_TestKey0000000000000000000000000";

    private readonly SqliteConnection? _keepAlive;
    private readonly PostgresCluster.TestDatabase? _postgres;
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public JunisApp(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, Engine engine = Engine.Sqlite)
    {
        Engine = engine;
        if (engine == Engine.PostgreSql)
        {
            // Away from the test's synchronization context, which a constructor cannot await.
            _postgres = Task.Run(() => PostgresCluster.CreateDatabaseAsync()).GetAwaiter().GetResult();
            ConnectionString = _postgres.ConnectionString;
        }
        else
        {
            ConnectionString = $"Data Source=junis-test-{Guid.NewGuid():N};Mode=Memory;Cache=Shared";
            _keepAlive = new SqliteConnection(ConnectionString);
            _keepAlive.Open();
        }
        _settings = new()
        {
            ["Junis:Database:Provider"] = engine == Engine.PostgreSql ? "PostgreSQL" : "Sqlite",
            ["ConnectionStrings:Junis"] = ConnectionString,
            ["Junis:Auth:BootstrapKey"] = Key,
            ["Serilog:MinimumLevel:Default"] = "Warning",
            // A test that runs the real server (UseKestrel) gets a free port of its own. Set here rather than with
            // UseKestrel(port), whose address change races the server's own start (dotnet/aspnetcore#67714).
            ["urls"] = "http://127.0.0.1:0",
            // Tests that are not about rate limits must never meet one; those that are set their own.
            ["Junis:RateLimits:DefaultPerMinute"] = "1000000",
            ["Junis:RateLimits:DefaultPerHour"] = "1000000",
        };
        foreach (var (name, value) in settings ?? [])
            _settings[name] = value;
        _services = services;
    }

    public string ConnectionString { get; }

    public Engine Engine { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        // The shipped appsettings.json (copied beside the tests) supplies every default not set here.
        builder.UseContentRoot(AppContext.BaseDirectory);
        foreach (var (name, value) in _settings)
            builder.UseSetting(name, value);
        if (_services is not null)
            builder.ConfigureTestServices(_services);
    }

    /// <summary>Runs <paramref name="query"/> on a fresh context, as a separate reader of the database would.</summary>
    public async Task<T> QueryAsync<T>(Func<JunisDb, Task<T>> query)
    {
        await using var db = await Services.GetRequiredService<IDbContextFactory<JunisDb>>().CreateDbContextAsync();
        return await query(db);
    }

    /// <summary>Creates an organization with one key holding <paramref name="scopes"/> (all by default) and returns the key.</summary>
    public async Task<string> CreateKeyAsync(string organization, params string[] scopes)
    {
        await using (var db = await Services.GetRequiredService<IDbContextFactory<JunisDb>>().CreateDbContextAsync())
        {
            var org = await db.Organizations.FirstOrDefaultAsync(o => o.Name == organization)
                ?? db.Organizations.Add(new Organization { Name = organization, CreatedAt = DateTime.UtcNow }).Entity;
            var secret = ApiKeySecret.Generate();
            db.ApiKeys.Add(ApiKeySecret.NewKey(org.Id, "test", secret, scopes.Length > 0 ? scopes : Scopes.All, DateTime.UtcNow));
            await db.SaveChangesAsync();
            await Services.GetRequiredService<ApiKeyDirectory>().RefreshAsync(default);
            return secret;
        }
    }

    /// <summary>A client that sends the bootstrap key the way the OpenAI SDKs do.</summary>
    public HttpClient CreateAuthorizedClient(string key = Key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing)
            return;
        _keepAlive?.Dispose();
        if (_postgres is not null)
            Task.Run(() => _postgres.DisposeAsync().AsTask()).GetAwaiter().GetResult();
    }
}

/// <summary>The database engines the server runs on, for tests that run on each.</summary>
public enum Engine
{
    Sqlite,
    PostgreSql,
}

/// <summary>Runs a theory once per engine: its first parameter is the <see cref="Engine"/>.</summary>
public sealed class EnginesAttribute : Xunit.Sdk.DataAttribute
{
    public override IEnumerable<object[]> GetData(System.Reflection.MethodInfo testMethod) =>
        [[Engine.Sqlite], [Engine.PostgreSql]];
}
