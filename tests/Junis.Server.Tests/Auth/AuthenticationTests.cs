using System.Net;
using System.Net.Http.Headers;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Junis.Server.Tests.Auth;

/// <summary>Keys: how a request gives one, how they are kept, and how their use is noted.</summary>
public abstract class AuthenticationTests(Engine engine) : IDisposable
{
    public sealed class OnSqlite() : AuthenticationTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : AuthenticationTests(Engine.PostgreSql);

    private readonly JunisApp _app = new(engine: engine);
    private static readonly object Hello = new { messages = new[] { Api.UserMessage("hi") } };

    [Fact]
    public async Task MissingKeyIsRejectedInOpenAIShape()
    {
        using var response = await _app.CreateClient().PostCompletionAsync(Hello);
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("ApiKey", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("authentication_error", (string)error["type"]!);
        Assert.Equal("missing_api_key", (string)error["code"]!);
        Assert.Null(error["param"]);
    }

    [Theory]
    [InlineData("jns_live_WrongKey00000000000000000000000")]
    [InlineData("sk-proj-abc")]
    [InlineData("jns_live_short")]
    [InlineData("jns_live_TestKey000000000000000000000000!")]
    public async Task WrongKeyIsRejectedInOpenAIShape(string key)
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", key);
        using var response = await client.PostCompletionAsync(Hello);
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("authentication_error", (string)error["type"]!);
        Assert.Equal("invalid_api_key", (string)error["code"]!);
    }

    [Fact]
    public async Task EmptyKeyHeaderCountsAsMissing()
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("X-API-Key", "");
        using var response = await client.PostCompletionAsync(Hello);

        Assert.Equal("missing_api_key", (string)(await response.ReadJsonAsync())["error"]!["code"]!);
    }

    [Fact]
    public async Task KeyIsAcceptedInXApiKeyOrAsBearer()
    {
        var junisStyle = _app.CreateClient();
        junisStyle.DefaultRequestHeaders.Add("X-API-Key", JunisApp.Key);
        var openAIStyle = _app.CreateClient();
        openAIStyle.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", JunisApp.Key);

        using var first = await junisStyle.PostCompletionAsync(Hello);
        using var second = await openAIStyle.PostCompletionAsync(Hello);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/api/external/v1/models")]
    [InlineData("GET", "/api/external/v1/models/junis-orchestrator")]
    [InlineData("POST", "/api/external/v1/chat/completions")]
    public async Task EveryApiRouteNeedsAKey(string method, string path)
    {
        using var response = await _app.CreateClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? Api.Json(Hello) : null });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task KeysAreStoredOnlyAsHashes()
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var key = await scope.ServiceProvider.GetRequiredService<JunisDb>().ApiKeys.SingleAsync();

        Assert.Equal(ApiKeySecret.Hash(JunisApp.Key).ToArray(), key.SecretHash);
        Assert.Equal("jns_live_TestK", key.Prefix);
        // Every column as the database holds it, as anyone reading it would see it.
        var stored = await _app.QueryAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            await using var dump = db.Database.GetDbConnection().CreateCommand();
            dump.CommandText = _app.Engine == Engine.PostgreSql
                ? """SELECT string_agg(quote_literal("Name") || quote_literal("Prefix") || quote_literal("Scopes") || encode("SecretHash", 'hex'), ',') FROM "ApiKeys" """
                : "SELECT group_concat(quote(Name) || quote(Prefix) || quote(Scopes) || hex(SecretHash)) FROM ApiKeys";
            return (string)(await dump.ExecuteScalarAsync())!;
        });
        Assert.Contains("jns_live_TestK", stored);
        Assert.DoesNotContain(JunisApp.Key, stored);
    }

    [Fact]
    public async Task BootstrapKeyIsCreatedOnceAcrossRestarts()
    {
        await using (var scope = _app.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<BootstrapKey>().EnsureAsync(default);

        await using var check = _app.Services.CreateAsyncScope();
        Assert.Equal(1, await check.ServiceProvider.GetRequiredService<JunisDb>().ApiKeys.CountAsync());
    }

    [Fact]
    public async Task LastUseIsRecordedCoarselyWithoutADatabaseWritePerRequest()
    {
        var client = _app.CreateAuthorizedClient();
        var directory = _app.Services.GetRequiredService<ApiKeyDirectory>();
        await directory.FlushLastUsedAsync(default); // whatever start-up left
        (await client.GetAsync("/api/external/v1/models")).Dispose();

        async Task<DateTime?> StoredAsync()
        {
            await using var scope = _app.Services.CreateAsyncScope();
            return (await scope.ServiceProvider.GetRequiredService<JunisDb>().ApiKeys.SingleAsync()).LastUsedAt;
        }
        var beforeFlush = await StoredAsync();
        await directory.FlushLastUsedAsync(default);
        var afterFlush = await StoredAsync();
        (await client.GetAsync("/api/external/v1/models")).Dispose();
        await directory.FlushLastUsedAsync(default);

        Assert.Null(beforeFlush);
        Assert.NotNull(afterFlush);
        Assert.InRange(afterFlush.Value, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow);
        Assert.Equal(afterFlush, await StoredAsync()); // a second use within the minute is not a new note
    }

    [Fact]
    public async Task HealthNeedsNoKey()
    {
        var client = _app.CreateClient();
        using var live = await client.GetAsync("/health/live");
        using var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    public void Dispose() => _app.Dispose();
}
