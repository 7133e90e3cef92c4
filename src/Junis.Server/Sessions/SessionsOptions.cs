using System.ComponentModel.DataAnnotations;

namespace Junis.Server.Sessions;

public sealed class SessionsOptions
{
    public const string Section = "Junis:Sessions";

    /// <summary>How many stored messages come before a request that names its session and sends only its newest message(s).</summary>
    [Range(0, 1000, ErrorMessage = "Junis:Sessions:HistoryLimit must be between 0 and 1000.")]
    public int HistoryLimit { get; set; } = 20;

    /// <summary>A session without a turn for this long is no longer active.</summary>
    [Range(1, 525_600, ErrorMessage = "Junis:Sessions:IdleMinutes must be between 1 and 525600.")]
    public int IdleMinutes { get; set; } = 30;

    /// <summary>When set, sessions idle for longer are deleted with their messages.</summary>
    [Range(1, 36_500, ErrorMessage = "Junis:Sessions:RetentionDays must be between 1 and 36500.")]
    public int? RetentionDays { get; set; }

    public TimeSpan Idle => TimeSpan.FromMinutes(IdleMinutes);
}

