namespace Junis.Server.Llm;

/// <summary>
/// A model call that failed, already translated into what the caller should be told:
/// the HTTP status (400 the model refused the request, 429 it is rate limiting us, 502 it failed, 504 it timed out)
/// and a message that helps without telling anything of this server's insides (addresses, configuration, the
/// provider's own report of its failure); those go to the log, with <see cref="Detail"/>.
/// </summary>
public sealed class ModelCallException(int status, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;

    /// <summary>With a 429: how long the provider asked to be left alone, when it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// The answer was cut off by this server, not broken by the model: what was passed on before the cut is the model's
    /// own, and a stream keeps it as a reply its caller did not hear out.
    /// </summary>
    public bool AnswerCut { get; init; }

    /// <summary>What the log is told and the caller is not: the provider's status and its own message, say.</summary>
    public string? Detail { get; init; }
}
