using System.ComponentModel.DataAnnotations;

namespace Junis.Server.Auth;

public sealed class RateLimitOptions
{
    public const string Section = "Junis:RateLimits";

    /// <summary>Per-key limits; off for a deployment that limits in its own gateway. Failed authentications stay limited.</summary>
    public bool Enabled { get; set; } = true;

    [Range(1, int.MaxValue, ErrorMessage = "Junis:RateLimits:DefaultPerMinute must be a positive number.")]
    public int DefaultPerMinute { get; set; } = 100;

    [Range(1, int.MaxValue, ErrorMessage = "Junis:RateLimits:DefaultPerHour must be a positive number.")]
    public int DefaultPerHour { get; set; } = 1000;

    [Range(1, int.MaxValue, ErrorMessage = "Junis:RateLimits:FailedAuthPerMinute must be a positive number.")]
    public int FailedAuthPerMinute { get; set; } = 60;
}
