namespace Junis.Server.ChatCompletions;

public sealed class RequestLimitsOptions
{
    public const string Section = "Junis:Limits";

    /// <summary>Larger request bodies are refused with 413 before they are read.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The largest <c>n</c>: each choice is a separate model call.</summary>
    public int MaxChoices { get; set; } = 8;
}
