using System.Text.Json.Serialization;
using Junis.Server.Data;
using Junis.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Auth;

/// <summary>
/// The caller's organization's keys, for a key holding <c>admin:read</c>, and the calling key itself, for any key (so a
/// client such as the web console knows what it may show). Never a key's secret or its hash.
/// </summary>
public static class KeysApi
{
    public static IEndpointRouteBuilder MapKeys(this IEndpointRouteBuilder routes)
    {
        var keys = routes.MapGroup("/keys").WithTags("Keys");
        keys.MapGet("", ListAsync).RequireScope(Scopes.AdminRead).Produces<KeyList>()
            .WithSummary("Lists the organization's keys").WithDescription("Oldest first, with their scopes, limits and last use; never their secrets.");
        keys.MapGet("/current", CurrentAsync).Produces<KeyView>()
            .WithSummary("The calling key").WithDescription("Its name, prefix, scopes and limits, for any valid key.");
        return routes;
    }

    public static IServiceCollection AddKeysApi(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, KeysJson.ForResults));

    private static async Task<Results<JsonHttpResult<KeyList>, JsonHttpResult<ErrorEnvelope>>> ListAsync(
        HttpContext http, JunisDb db, string? page, string? page_size)
    {
        if (!Paging.TryParse(page, page_size, out var number, out var size, out var problem))
            return problem;
        var query = db.ApiKeys.AsNoTracking().Where(k => k.OrganizationId == http.Caller().OrganizationId);
        var total = await query.CountAsync(http.RequestAborted);
        var rows = await query.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id)
            .Skip((number - 1) * size).Take(size)
            .ToListAsync(http.RequestAborted);
        return TypedResults.Json(new KeyList([.. rows.Select(KeyView.Of)], total, number, size, number * size < total), KeysJson.ForResults.KeyList);
    }

    private static async Task<Results<JsonHttpResult<KeyView>, JsonHttpResult<ErrorEnvelope>>> CurrentAsync(HttpContext http, JunisDb db)
    {
        var caller = http.Caller();
        // Found in memory a moment ago; gone only if revoked and deleted since.
        var key = await db.ApiKeys.AsNoTracking()
            .FirstOrDefaultAsync(k => k.Id == caller.KeyId && k.OrganizationId == caller.OrganizationId, http.RequestAborted);
        return key is null ? ApiErrors.NotFound("The calling key no longer exists.") : TypedResults.Json(KeyView.Of(key), KeysJson.ForResults.KeyView);
    }
}

/// <summary>
/// A key as the Keys API shows it. A limit is the key's own: <c>null</c> takes the deployment's default
/// (<c>Junis:RateLimits</c>), <c>0</c> means unlimited. Missing dates are written as <c>null</c>: never expires,
/// not revoked, never used.
/// </summary>
public sealed record KeyView(
    Guid Id, string Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Description,
    string Prefix, IReadOnlyList<string> Scopes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? PerMinute,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? PerHour,
    DateTime CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTime? ExpiresAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTime? RevokedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTime? LastUsedAt)
{
    public static KeyView Of(ApiKey key) => new(key.Id, key.Name, key.Description, key.Prefix, Auth.Scopes.Split(key.Scopes),
        key.PerMinute, key.PerHour, key.CreatedAt, key.ExpiresAt, key.RevokedAt, key.LastUsedAt);
}

public sealed record KeyList(IReadOnlyList<KeyView> Keys, int Total, int Page, int PageSize, bool HasNext);
