namespace Junis.Server.Auth;

/// <summary>
/// One clock-aligned window of a limit counter, as the shared counters keep it (<see cref="Storage.EfCoreLimitCounters"/>):
/// how many requests the window has admitted so far.
/// </summary>
public sealed class LimitWindow
{
    /// <summary>What is counted and over which length of window, such as <c>key:{id}:minute</c> or <c>ip:{address}:minute</c>.</summary>
    public required string Counter { get; set; }

    public DateTime Start { get; set; }

    public int Count { get; set; }
}
