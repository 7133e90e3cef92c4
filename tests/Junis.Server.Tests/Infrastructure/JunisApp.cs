using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
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
