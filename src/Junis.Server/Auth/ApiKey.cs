namespace Junis.Server.Auth;

/// <summary>An API key. The secret itself is never stored: only its SHA-256 and a short prefix to recognise it by.</summary>
public sealed class ApiKey
{
    public Guid Id { get; set; } = Ids.TimeOrdered();
    public Guid OrganizationId { get; set; }
    public Organization? Organization { get; set; }

    public required string Name { get; set; }
    public string? Description { get; set; }

    /// <summary>The first characters of the secret, shown in listings so a key can be recognised.</summary>
    public required string Prefix { get; set; }

    public required byte[] SecretHash { get; set; }

    /// <summary>Space-separated scope names.</summary>
    public required string Scopes { get; set; }

    /// <summary>Requests per minute; null takes the deployment's default, <see cref="RateLimit.Unlimited"/> means no limit.</summary>
    public int? PerMinute { get; set; }

    /// <summary>Requests per hour; null takes the deployment's default, <see cref="RateLimit.Unlimited"/> means no limit.</summary>
    public int? PerHour { get; set; }

    public DateTime CreatedAt { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public DateTime? RevokedAt { get; set; }
    public DateTime? LastUsedAt { get; set; }
}

public static class RateLimit
{
    /// <summary>Stored as a key's limit to mean "no limit".</summary>
    public const int Unlimited = 0;
}
