using System.ClientModel;
using System.Net;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;

namespace Junis.Server.Tests.Auth;

/// <summary>What each scope lets a key do, and keys that no longer let anything.</summary>
public abstract class ScopeTests(Engine engine) : IDisposable
{
    public sealed class OnSqlite() : ScopeTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : ScopeTests(Engine.PostgreSql);

    private readonly JunisApp _app = new(engine: engine);

    /// <summary>Creates a key in the bootstrap key's organization holding only <paramref name="scopes"/>.</summary>
    private async Task<string> KeyWithAsync(params string[] scopes)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        var organization = await db.Organizations.SingleAsync();
        var secret = ApiKeySecret.Generate();
        db.ApiKeys.Add(ApiKeySecret.NewKey(organization.Id, "narrow", secret, scopes, DateTime.UtcNow));
        await db.SaveChangesAsync();
        await _app.Services.GetRequiredService<ApiKeyDirectory>().RefreshAsync(default);
        return secret;
    }

    [Fact]
    public async Task AWholeCompletionNeedsOrchestratorInvoke()
    {
        var key = await KeyWithAsync(Scopes.Stream);
        using var response = await _app.CreateAuthorizedClient(key).PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("permission_error", (string)error["type"]!);
        Assert.Equal("insufficient_scope", (string)error["code"]!);
        Assert.Contains("orchestrator:invoke", (string)error["message"]!);
        Assert.Null(error["param"]);
    }

    [Fact]
    public async Task AStreamedCompletionNeedsOrchestratorStream()
    {
        var key = await KeyWithAsync(Scopes.Invoke);
        var client = _app.CreateAuthorizedClient(key);
        using var streamed = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") }, stream = true });
        using var whole = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.Forbidden, streamed.StatusCode);
        Assert.Contains("orchestrator:stream", (string)(await streamed.ReadJsonAsync())["error"]!["message"]!);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
    }

    [Fact]
    public async Task ModelsNeedOnlyAValidKey()
    {
        var key = await KeyWithAsync(Scopes.SessionsRead);
        using var response = await _app.CreateAuthorizedClient(key).GetAsync("/api/external/v1/models");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TheOfficialClientSeesItsPermissionDeniedError()
    {
        var key = await KeyWithAsync(Scopes.SessionsRead);

        var failure = await Assert.ThrowsAsync<ClientResultException>(() =>
            OfficialClient.Chat(_app, key).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(403, failure.Status);
        Assert.Contains("orchestrator:invoke", failure.Message);
    }

    [Fact]
    public async Task ARevokedKeyIsRefusedLikeAnUnknownOne()
    {
        var key = await KeyWithAsync(Scopes.Invoke);
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
            await db.ApiKeys.Where(k => k.Name == "narrow").ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, DateTime.UtcNow));
        }
        await _app.Services.GetRequiredService<ApiKeyDirectory>().RefreshAsync(default);

        using var revoked = await _app.CreateAuthorizedClient(key).PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });
        using var unknown = await _app.CreateAuthorizedClient("jns_live_" + new string('Z', 32)).PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.Equal(await unknown.Content.ReadAsStringAsync(), await revoked.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnExpiredKeyIsRefusedLikeAnUnknownOne()
    {
        await using (var scope = _app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
            var key = ApiKeySecret.NewKey((await db.Organizations.SingleAsync()).Id, "old", "jns_live_" + new string('E', 32), Scopes.All, DateTime.UtcNow.AddDays(-2));
            key.ExpiresAt = DateTime.UtcNow.AddDays(-1);
            db.ApiKeys.Add(key);
            await db.SaveChangesAsync();
        }
        await _app.Services.GetRequiredService<ApiKeyDirectory>().RefreshAsync(default);

        using var response = await _app.CreateAuthorizedClient("jns_live_" + new string('E', 32)).PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", (string)(await response.ReadJsonAsync())["error"]!["code"]!);
    }

    public void Dispose() => _app.Dispose();
}
