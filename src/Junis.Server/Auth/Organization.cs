namespace Junis.Server.Auth;

/// <summary>A tenant. Every key, session and limit belongs to exactly one.</summary>
public sealed class Organization
{
    public Guid Id { get; set; } = Ids.TimeOrdered();
    public required string Name { get; set; }
    public DateTime CreatedAt { get; set; }
}
