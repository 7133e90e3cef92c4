using System.Globalization;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Junis.Server.Usage;

/// <summary>
/// <c>GET /usage?from=&amp;to=&amp;group_by=day|key|agent</c>: the caller's organization's requests, tokens, errors and time to
/// first token over a period of days (UTC, both included; by default the last 30), for a key holding <c>admin:read</c>.
/// </summary>
public static class UsageApi
{
    /// <summary>The longest period one report covers.</summary>
    public const int MaxDays = 366;

    public static IEndpointRouteBuilder MapUsage(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/usage", ReportAsync).RequireScope(Scopes.AdminRead).WithTags("Usage");
        return routes;
    }

    public static IServiceCollection AddUsage(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, UsageJson.ForResults));
        services.AddSingleton<UsageLedger>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageLedger>());
        return services;
    }

    private static async Task<Results<JsonHttpResult<UsageReport>, JsonHttpResult<ErrorEnvelope>>> ReportAsync(
        HttpContext http, JunisDb db, TimeProvider clock, string? from, string? to, string? group_by)
    {
        if (!TryReadPeriod(from, to, DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime), out var first, out var last, out var problem))
            return ApiErrors.BadRequest(problem.Message, problem.Param);
        if (!TryReadGrouping(group_by, out var grouping))
            return ApiErrors.BadRequest("'group_by' must be day, key or agent.", "group_by");
        var report = await UsageReports.ReadAsync(db, http.Caller().OrganizationId, first, last, grouping, http.RequestAborted);
        return TypedResults.Json(report, UsageJson.ForResults.UsageReport);
    }

    public static bool TryReadGrouping(string? text, out UsageGrouping grouping)
    {
        grouping = UsageGrouping.Day;
        return text is null || Enum.TryParse(text, ignoreCase: true, out grouping) && !int.TryParse(text, out _);
    }

    /// <summary>The period <paramref name="from"/> and <paramref name="to"/> name (<c>yyyy-MM-dd</c>), by default the 30 days to <paramref name="today"/>.</summary>
    public static bool TryReadPeriod(string? from, string? to, DateOnly today, out DateOnly first, out DateOnly last, out (string Message, string Param) problem)
    {
        problem = default;
        first = last = today;
        if (to is not null && !TryReadDay(to, out last))
        {
            problem = ("'to' must be a day, yyyy-MM-dd.", "to");
            return false;
        }
        first = last.AddDays(-29);
        if (from is not null && !TryReadDay(from, out first))
        {
            problem = ("'from' must be a day, yyyy-MM-dd.", "from");
            return false;
        }
        if (first > last)
        {
            problem = ("'from' must not be after 'to'.", "from");
            return false;
        }
        if (last.DayNumber - first.DayNumber >= MaxDays)
        {
            problem = ($"A report covers at most {MaxDays} days.", "from");
            return false;
        }
        return true;
    }

    private static bool TryReadDay(string text, out DateOnly day) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
}
