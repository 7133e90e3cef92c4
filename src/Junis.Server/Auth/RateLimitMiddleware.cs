using System.Diagnostics.Metrics;
using System.Globalization;
using Junis.Server.Auth.Storage;
using Junis.Server.Errors;
using Junis.Server.Telemetry;
using Microsoft.Extensions.Options;

namespace Junis.Server.Auth;

public static class RateLimitMiddleware
{
    /// <summary>
    /// Counts every authenticated request against its key's minute and hour windows, reports both in
    /// X-RateLimit-* headers, and refuses a request over either with 429 and the wait in Retry-After.
    /// </summary>
    public static IApplicationBuilder UseKeyRateLimits(this IApplicationBuilder app)
    {
        var limits = app.ApplicationServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        if (!limits.Enabled)
            return app;

        var counters = app.ApplicationServices.GetRequiredService<ILimitCounters>();
        var clock = app.ApplicationServices.GetRequiredService<TimeProvider>();
        var refusals = app.ApplicationServices.GetRequiredService<ServerMetrics>().RateLimitRefusals;
        return app.Use((context, next) =>
        {
            if (context.User.Identity is not CallerIdentity { Caller: var caller })
                return next(context);

            var acquiring = counters.AcquireAsync(
                caller.KeyId, caller.PerMinute ?? limits.DefaultPerMinute, caller.PerHour ?? limits.DefaultPerHour, context.RequestAborted);
            // The in-memory counters answer at once: no state machine for them.
            return acquiring.IsCompletedSuccessfully
                ? Apply(acquiring.Result, context, next, clock, refusals)
                : ApplyAsync(acquiring, context, next, clock, refusals);
        });
    }

    private static async Task ApplyAsync(
        ValueTask<RateLimitDecision> acquiring, HttpContext context, RequestDelegate next, TimeProvider clock, Counter<long> refusals) =>
        await Apply(await acquiring, context, next, clock, refusals);

    private static Task Apply(RateLimitDecision decision, HttpContext context, RequestDelegate next, TimeProvider clock, Counter<long> refusals)
    {
        var headers = context.Response.Headers;
        AddHeaders(headers, decision.Minute, "X-RateLimit-Limit-Minute", "X-RateLimit-Remaining-Minute", "X-RateLimit-Reset-Minute");
        AddHeaders(headers, decision.Hour, "X-RateLimit-Limit-Hour", "X-RateLimit-Remaining-Hour", "X-RateLimit-Reset-Hour");
        if (decision.Allowed)
            return next(context);

        var wait = decision.RetryAt - clock.GetUtcNow();
        refusals.Add(1, new KeyValuePair<string, object?>(LimitAttribute, decision.Minute.Full ? "per_minute" : "per_hour"));
        Refuse(context, wait);
        var window = decision.Minute.Full ? $"{decision.Minute.Limit} requests per minute" : $"{decision.Hour.Limit} requests per hour";
        return ApiErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests,
            $"Rate limit of {window} reached for this API key; retry after {Seconds(wait)} s.", code: "rate_limit_exceeded");
    }

    /// <summary>Which limit refused a request, on <see cref="ServerMetrics.RateLimitRefusals"/>.</summary>
    public const string LimitAttribute = "junis.rate_limit";

    /// <summary>Sets the headers both OpenAI SDKs read to wait before retrying: retry-after-ms first, then Retry-After.</summary>
    public static void Refuse(HttpContext context, TimeSpan wait)
    {
        context.Response.Headers.RetryAfter = Seconds(wait).ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["retry-after-ms"] = Math.Max(0, (long)Math.Ceiling(wait.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
    }

    private static long Seconds(TimeSpan wait) => Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));

    // An unlimited window has nothing to report.
    private static void AddHeaders(IHeaderDictionary headers, WindowState state, string limit, string remaining, string reset)
    {
        if (state.Unlimited)
            return;
        headers[limit] = state.Limit.ToString(CultureInfo.InvariantCulture);
        headers[remaining] = state.Remaining.ToString(CultureInfo.InvariantCulture);
        headers[reset] = state.ResetsAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
    }
}
