using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Auth;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Tests.WebConsole;

/// <summary>
/// The Keys API the console reads: <c>GET /keys</c> lists the caller's organization's keys for a key holding
/// <c>admin:read</c>, never a secret or another organization's key; <c>GET /keys/current</c> shows any key itself. On each engine.
/// </summary>
public sealed class KeysApiTests
{
    private static async Task<JsonNode> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    [Theory, Engines]
    public async Task TheOrganizationsKeysAreListedWithTheirLimitsAndNeverTheirSecrets(Engine engine)
    {
        using var app = new JunisApp(engine: engine);
        var admin = await app.CreateKeyAsync(BootstrapKey.OrganizationName, Scopes.AdminRead, Scopes.SessionsRead);
        var theirs = await app.CreateKeyAsync("other", Scopes.AdminRead);
        var adminPrefix = ApiKeySecret.DisplayPrefix(admin);
        await app.QueryAsync(db => db.ApiKeys.Where(k => k.Prefix == adminPrefix)
            .ExecuteUpdateAsync(s => s.SetProperty(k => k.PerMinute, 10).SetProperty(k => k.PerHour, RateLimit.Unlimited)));

        using var response = await app.CreateAuthorizedClient(admin).GetAsync("/api/external/keys");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var list = JsonNode.Parse(body)!;
        var keys = list["keys"]!.AsArray().Select(k => k!).ToList();
        Assert.Equal((2, 2, false), (keys.Count, (int)list["total"]!, (bool)list["has_next"]!));
        var bootstrap = keys.Single(k => (string?)k["name"] == "bootstrap");
        Assert.StartsWith((string)bootstrap["prefix"]!, JunisApp.Key, StringComparison.Ordinal);
        Assert.Equal(Scopes.All, bootstrap["scopes"]!.AsArray().Select(s => (string)s!));
        Assert.Equal((null, null), ((int?)bootstrap["per_minute"], (int?)bootstrap["per_hour"]));
        var own = keys.Single(k => (string?)k["prefix"] == adminPrefix);
        Assert.Equal(((int?)10, (int?)0), ((int?)own["per_minute"], (int?)own["per_hour"]));
        Assert.Equal(
            ["created_at", "description", "expires_at", "id", "last_used_at", "name", "per_hour", "per_minute", "prefix", "revoked_at", "scopes"],
            own.AsObject().Select(p => p.Key).Order());
        Assert.DoesNotContain(admin, body);
        Assert.DoesNotContain(JunisApp.Key, body);
        Assert.DoesNotContain(ApiKeySecret.DisplayPrefix(theirs), body);
    }

    [Theory, Engines]
    public async Task AKeyWithoutAdminReadIsRefusedInOpenAIShape(Engine engine)
    {
        using var app = new JunisApp(engine: engine);

        using var response = await app.CreateAuthorizedClient().GetAsync("/api/external/keys");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var error = (await response.ReadJsonAsync())["error"]!;
        Assert.Equal(("permission_error", "insufficient_scope"), ((string?)error["type"], (string?)error["code"]));
        Assert.Contains(Scopes.AdminRead, (string?)error["message"]);
    }

    [Theory, Engines]
    public async Task AnyKeySeesItselfWhateverItsScopes(Engine engine)
    {
        using var app = new JunisApp(engine: engine);
        var narrow = await app.CreateKeyAsync("acme", Scopes.Invoke);

        var current = await GetJsonAsync(app.CreateAuthorizedClient(narrow), "/api/external/keys/current");
        var bootstrap = await GetJsonAsync(app.CreateAuthorizedClient(), "/api/external/keys/current");

        Assert.Equal((ApiKeySecret.DisplayPrefix(narrow), "test"), ((string?)current["prefix"], (string?)current["name"]));
        Assert.Equal([Scopes.Invoke], current["scopes"]!.AsArray().Select(s => (string)s!));
        Assert.Equal("bootstrap", (string?)bootstrap["name"]);
    }

    [Fact]
    public async Task WithoutAKeyNeitherIsAnswered()
    {
        using var app = new JunisApp();
        var anonymous = app.CreateClient();

        using var list = await anonymous.GetAsync("/api/external/keys");
        using var current = await anonymous.GetAsync("/api/external/keys/current");

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (list.StatusCode, current.StatusCode));
    }
}
