namespace Junis.Server.Llm;

/// <summary>
/// A model call that failed, already translated into what the caller should be told:
/// the HTTP status (400 the model refused the request, 429 it is rate limiting us, 502 it failed, 504 it timed out)
/// and a message that helps.
/// </summary>
public sealed class ModelCallException(int status, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;

    /// <summary>With a 429: how long the provider asked to be left alone, when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
