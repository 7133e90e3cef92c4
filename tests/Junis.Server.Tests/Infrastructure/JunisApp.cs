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
/// The real server in memory: the whole pipeline, the real EF Core model on an in-memory SQLite database
/// (shared between the server's connections, alive as long as this object), the Echo model unless a test
/// says otherwise. One per test.
/// </summary>
public sealed class JunisApp : WebApplicationFactory<Program>
{
    public const string Key = "jns_live_TestKey0000000000000000000000000";

    private readonly SqliteConnection _keepAlive;
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public JunisApp(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        ConnectionString = $"Data Source=junis-test-{Guid.NewGuid():N};Mode=Memory;Cache=Shared";
        _keepAlive = new SqliteConnection(ConnectionString);
        _keepAlive.Open();
        _settings = new()
        {
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
        if (disposing)
            _keepAlive.Dispose();
    }
}
