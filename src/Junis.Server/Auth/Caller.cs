using System.Security.Claims;

namespace Junis.Server.Auth;

/// <summary>Who is calling: the key, its organization and what it may do. Built once per key, shared by its requests.</summary>
public sealed class Caller
{
    public Caller(ApiKey key, KeyHash hash)
    {
        KeyId = key.Id;
        OrganizationId = key.OrganizationId;
        Prefix = key.Prefix;
        Hash = hash;
        Scopes = Auth.Scopes.Split(key.Scopes).ToHashSet(StringComparer.Ordinal);
        PerMinute = key.PerMinute;
        PerHour = key.PerHour;
        ExpiresAt = key.ExpiresAt;
        Principal = new ClaimsPrincipal(new CallerIdentity(this));
    }

    public Guid KeyId { get; }
    public Guid OrganizationId { get; }
    public string Prefix { get; }
    public KeyHash Hash { get; }
    public IReadOnlySet<string> Scopes { get; }
    public int? PerMinute { get; }
    public int? PerHour { get; }
    public DateTime? ExpiresAt { get; }
    public ClaimsPrincipal Principal { get; }

    public bool Has(string scope) => Scopes.Contains(scope);
}

/// <summary>The authenticated identity of a request, carrying its <see cref="Caller"/>.</summary>
public sealed class CallerIdentity(Caller caller) : ClaimsIdentity(
    [new Claim(ClaimTypes.NameIdentifier, caller.KeyId.ToString()), new Claim("org", caller.OrganizationId.ToString()),
     .. caller.Scopes.Select(s => new Claim("scope", s))],
    ApiKeyAuthentication.SchemeName)
{
    public Caller Caller { get; } = caller;
}

public static class CallerExtensions
{
    /// <summary>The caller of an authenticated request.</summary>
    public static Caller Caller(this HttpContext http) =>
        (http.User.Identity as CallerIdentity)?.Caller ?? throw new InvalidOperationException("The request is not authenticated.");
}
