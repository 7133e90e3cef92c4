using System.CommandLine;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using static Junis.Server.Auth.AdminCommands;

namespace Junis.Server.Usage;

/// <summary><c>usage --org ORG [--from] [--to] [--group-by]</c> from the server's binary: the usage report the API gives, as a table.</summary>
public static class UsageCommands
{
    public static bool Handles(string[] args) => args is ["usage", ..];

    public static Command Create(IServiceProvider services)
    {
        var organization = new Option<string>("--org") { Description = "The organization's name", Required = true };
        var from = new Option<string?>("--from") { Description = "The first day, yyyy-MM-dd (UTC; default: 29 days before --to)" };
        var to = new Option<string?>("--to") { Description = "The last day, yyyy-MM-dd (UTC; default: today)" };
        var groupBy = new Option<string?>("--group-by") { Description = "day (default), key or agent" };
        var usage = new Command("usage", "An organization's requests, tokens, errors and time to first token") { organization, from, to, groupBy };
        usage.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            var name = parse.GetValue(organization)!;
            if (await db.Organizations.AsNoTracking().FirstOrDefaultAsync(o => o.Name == name, cancellationToken) is not { } org)
                return Fail($"No organization is named '{name}'.");
            if (!UsageApi.TryReadPeriod(parse.GetValue(from), parse.GetValue(to), DateOnly.FromDateTime(DateTime.UtcNow), out var first, out var last, out var problem))
                return Fail(problem.Message.Replace("'from'", "--from", StringComparison.Ordinal).Replace("'to'", "--to", StringComparison.Ordinal));
            if (!UsageApi.TryReadGrouping(parse.GetValue(groupBy), out var grouping))
                return Fail("--group-by must be day, key or agent.");

            var report = await UsageReports.ReadAsync(db, org.Id, first, last, grouping, cancellationToken);
            var heading = grouping switch { UsageGrouping.Key => "KEY", UsageGrouping.Agent => "AGENT", _ => "DAY" };
            Console.WriteLine($"Usage of {org.Name}, {report.From} to {report.To}:");
            WriteTable([heading, "REQUESTS", "ERRORS", "PROMPT TOKENS", "COMPLETION TOKENS", "AVG FIRST TOKEN MS"],
                [.. report.Data.Select(line => Row(grouping switch
                {
                    UsageGrouping.Key => $"{line.KeyPrefix ?? line.ApiKeyId.ToString()} {line.KeyName}".Trim(),
                    UsageGrouping.Agent => line.Agent ?? "(no agent)",
                    _ => line.Day!,
                }, line)), Row("TOTAL", report.Total)]);
            return 0;
        }));
        return usage;
    }

    private static string[] Row(string label, UsageLine line) =>
    [
        label, Number(line.Requests), Number(line.Errors), Number(line.PromptTokens), Number(line.CompletionTokens),
        line.AvgTimeToFirstTokenMs?.ToString("0.0", CultureInfo.InvariantCulture) ?? "—",
    ];

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
