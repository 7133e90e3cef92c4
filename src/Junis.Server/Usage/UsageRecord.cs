namespace Junis.Server.Usage;

/// <summary>
/// What one batch of requests used, for one organization, key, agent and day: appended, never updated, so that
/// servers writing at once never contend for a running total. Reports sum the rows.
/// </summary>
public sealed class UsageRecord
{
    public long Id { get; set; }
    public Guid OrganizationId { get; set; }
    public Guid ApiKeyId { get; set; }

    /// <summary>The agent that answered, when agents answered; null for the server's own model.</summary>
    public string? Agent { get; set; }

    /// <summary>The day (UTC) the requests were answered.</summary>
    public DateOnly Day { get; set; }

    public int Requests { get; set; }

    /// <summary>Requests that ended in an error: the model failed, or the server could not answer.</summary>
    public int Errors { get; set; }

    public long PromptTokens { get; set; }
    public long CompletionTokens { get; set; }

    /// <summary>The sum of the times to first content of the requests that had one, and how many did: their mean is one over the other.</summary>
    public long FirstTokenMsTotal { get; set; }
    public int FirstTokenCount { get; set; }

    public DateTime WrittenAt { get; set; }
}

/// <summary>What one answered request used, as the chat completions surface reports it.</summary>
/// <param name="OrganizationId">The caller's organization.</param>
/// <param name="ApiKeyId">The caller's key.</param>
/// <param name="Agent">The agent that answered, if one did.</param>
/// <param name="At">When it was answered.</param>
/// <param name="PromptTokens">The turn's prompt tokens.</param>
/// <param name="CompletionTokens">The turn's completion tokens.</param>
/// <param name="Failed">Whether it ended in an error.</param>
/// <param name="FirstTokenMs">From the request's arrival to its first content, when it had any.</param>
public readonly record struct UsageEntry(
    Guid OrganizationId, Guid ApiKeyId, string? Agent, DateTime At, long PromptTokens, long CompletionTokens, bool Failed, int? FirstTokenMs);
