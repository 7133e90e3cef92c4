using System.Globalization;
using Junis.Server.Auth;
using Junis.Server.Errors;
using Junis.Server.Llm;
using Junis.Server.Logging;
using Junis.Server.Orchestration;
using Junis.Server.Sessions;
using Microsoft.Extensions.Options;

namespace Junis.Server.ChatCompletions;

public static class ChatCompletionsApi
{
    /// <summary>Tells the caller which session the turn went to, for the Sessions API.</summary>
    public const string SessionHeader = "X-Session-Id";

    public static IEndpointRouteBuilder MapChatCompletions(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/chat/completions", CreateAsync);
        return routes;
    }

    private static async Task<IResult> CreateAsync(
        HttpContext http,
        SessionResolver sessions,
        Orchestrator orchestrator,
        IOptions<OrchestratorOptions> orchestratorOptions,
        IOptions<RequestLimitsOptions> limits,
        TimeProvider clock,
        ILogger<CompletionStream> logger)
    {
        var (request, error) = await ChatRequestReader.ReadAsync(http.Request, limits.Value);
        if (error is not null)
            return error;
        var scope = request!.IsStreaming ? Scopes.Stream : Scopes.Invoke;
        if (!http.Caller().Has(scope))
            return ScopeChecks.Missing(scope);

        var cancellationToken = http.RequestAborted;
        var turn = sessions.Resolve(http.Caller(), request);
        http.Response.Headers[SessionHeader] = turn.SessionId.ToString();

        var identity = CompletionIdentity.New(orchestratorOptions.Value.ModelName, clock);
        var choices = request.N ?? 1;
        var events = orchestrator.RunAsync(request, turn, cancellationToken);

        if (!request.IsStreaming)
        {
            try
            {
                var completion = await CompletionFolder.FoldAsync(events, identity, choices);
                if (completion.RequestId is { } requestId)
                    http.Response.Headers[RequestIds.Header] = requestId;
                return TypedResults.Json(completion, WireJson.Wire.ChatCompletion);
            }
            catch (ModelCallException e)
            {
                return ModelError(http, e);
            }
        }

        // Wait for the model's first word before committing to 200, so a model that fails at once gets a real HTTP error.
        // What the model says about its answer before then (its request id, its fingerprint) is noted for the stream.
        var stream = events.GetAsyncEnumerator(cancellationToken);
        AnswerInfo? answer = null;
        try
        {
            while (await stream.MoveNextAsync() && stream.Current is AnswerInfo info)
                answer ??= info;
        }
        catch (ModelCallException e)
        {
            await stream.DisposeAsync();
            return ModelError(http, e);
        }
        return new CompletionStream(stream, identity, choices, request.StreamOptions?.IncludeUsage == true, answer, logger);
    }

    private static IResult ModelError(HttpContext http, ModelCallException e)
    {
        // The provider's own wait, passed on, so an SDK backs off as long as the provider asked rather than giving up.
        if (e.RetryAfter is { } wait)
        {
            http.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            http.Response.Headers["retry-after-ms"] = Math.Ceiling(wait.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
        return ApiErrors.Create(e.Status, e.Message, code: e.Status switch
        {
            400 => "model_rejected_request",
            429 => "upstream_rate_limited",
            504 => "timeout",
            _ => "model_error",
        });
    }
}
