using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Usage;

/// <summary>How a usage report groups the ledger.</summary>
public enum UsageGrouping
{
    Day,
    Key,
    Agent,
}

/// <summary>One line of a usage report: one day, key or agent, its figures summed over the period.</summary>
public sealed record UsageLine(
    string? Day, Guid? ApiKeyId, string? KeyPrefix, string? KeyName, string? Agent,
    long Requests, long Errors, long PromptTokens, long CompletionTokens, long TotalTokens, double? AvgTimeToFirstTokenMs);

/// <summary>An organization's usage over the days from <see cref="From"/> to <see cref="To"/>, both included.</summary>
public sealed record UsageReport(string From, string To, string GroupBy, IReadOnlyList<UsageLine> Data, UsageLine Total)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    [System.Text.Json.Serialization.JsonPropertyName("object")]
    public string ObjectType => "usage";
}

/// <summary>Reads the usage ledger: one organization's rows of a period, summed by day, key or agent.</summary>
public static class UsageReports
{
    public static async Task<UsageReport> ReadAsync(JunisDb db, Guid organization, DateOnly from, DateOnly to, UsageGrouping grouping, CancellationToken cancellationToken)
    {
        var rows = db.UsageRecords.AsNoTracking().Where(r => r.OrganizationId == organization && r.Day >= from && r.Day <= to);
        var sums = grouping switch
        {
            UsageGrouping.Key => await Sum(rows.GroupBy(r => new Group(null, r.ApiKeyId, null))).ToListAsync(cancellationToken),
            UsageGrouping.Agent => await Sum(rows.GroupBy(r => new Group(null, null, r.Agent))).ToListAsync(cancellationToken),
            _ => await Sum(rows.GroupBy(r => new Group(r.Day, null, null))).ToListAsync(cancellationToken),
        };

        var keys = grouping == UsageGrouping.Key
            ? await db.ApiKeys.AsNoTracking().Where(k => k.OrganizationId == organization).ToDictionaryAsync(k => k.Id, k => (k.Prefix, k.Name), cancellationToken)
            : [];
        var lines = sums
            .OrderBy(s => s.Key.Day).ThenBy(s => s.Key.Agent, StringComparer.Ordinal).ThenBy(s => s.Key.ApiKeyId)
            .Select(s => Line(s, s.Key.ApiKeyId is { } id && keys.TryGetValue(id, out var key) ? key : default))
            .ToList();
        var total = new Sums(new Group(null, null, null), sums.Sum(s => s.Requests), sums.Sum(s => s.Errors), sums.Sum(s => s.PromptTokens),
            sums.Sum(s => s.CompletionTokens), sums.Sum(s => s.FirstTokenMsTotal), sums.Sum(s => s.FirstTokenCount));
        return new UsageReport(Format(from), Format(to), grouping.ToString().ToLowerInvariant(), lines, Line(total, default));
    }

    public static string Format(DateOnly day) => day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private sealed record Group(DateOnly? Day, Guid? ApiKeyId, string? Agent);

    private sealed record Sums(Group Key, long Requests, long Errors, long PromptTokens, long CompletionTokens, long FirstTokenMsTotal, long FirstTokenCount);

    private static IQueryable<Sums> Sum(IQueryable<IGrouping<Group, UsageRecord>> groups) =>
        groups.Select(g => new Sums(g.Key, g.Sum(r => (long)r.Requests), g.Sum(r => (long)r.Errors), g.Sum(r => r.PromptTokens),
            g.Sum(r => r.CompletionTokens), g.Sum(r => r.FirstTokenMsTotal), g.Sum(r => (long)r.FirstTokenCount)));

    private static UsageLine Line(Sums sums, (string Prefix, string Name) key) => new(
        sums.Key.Day is { } day ? Format(day) : null, sums.Key.ApiKeyId, key.Prefix, key.Name, sums.Key.Agent,
        sums.Requests, sums.Errors, sums.PromptTokens, sums.CompletionTokens, sums.PromptTokens + sums.CompletionTokens,
        sums.FirstTokenCount > 0 ? Math.Round((double)sums.FirstTokenMsTotal / sums.FirstTokenCount, 1) : null);
}
