using Junis.Server.Auth;
using Junis.Server.Errors;
using Junis.Server.Hosting;
using Junis.Server.Llm;
using Junis.Server.Logging;
using Junis.Server.Orchestration;
using Microsoft.Extensions.Options;

namespace Junis.Server.ChatCompletions;

public static class ChatCompletionsApi
{
    /// <summary>Tells the caller which session the turn went to, for the Sessions API.</summary>
    public const string SessionHeader = "X-Session-Id";

    /// <summary>The model provider that answered (<c>Junis:Llm</c> is <c>default</c>), when it is named.</summary>
    public const string ProviderHeader = "X-Model-Provider";

    public static IEndpointRouteBuilder MapChatCompletions(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/chat/completions", CreateAsync);
        return routes;
    }

    /// <summary>
    /// One agent invoked directly, at Junis's path and at the path an OpenAI SDK whose base URL is the agent's calls:
    /// the same request and answer as chat completions, answered by that agent.
    /// </summary>
    public static IEndpointRouteBuilder MapAgentCompletions(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/agents/{id}/completions", InvokeAgentAsync);
        routes.MapPost("/agents/{id}/chat/completions", InvokeAgentAsync);
        return routes;
    }

    private static Task<IResult> CreateAsync(HttpContext http, Orchestrator orchestrator, IOptions<OrchestratorOptions> orchestratorOptions,
        IOptions<RequestLimitsOptions> limits, TimeProvider clock, Draining draining, ILogger<CompletionStream> logger) =>
        CompleteAsync(http, orchestrator, agent: null, orchestratorOptions.Value.ModelName, limits.Value, clock, draining, logger);

    private static async Task<IResult> InvokeAgentAsync(string id, HttpContext http, Orchestrator orchestrator,
        IOptions<RequestLimitsOptions> limits, TimeProvider clock, Draining draining, ILogger<CompletionStream> logger)
    {
        var caller = http.Caller();
        if (!caller.Has(Scopes.AgentsInvoke))
            return ScopeChecks.Missing(Scopes.AgentsInvoke);
        var invocation = orchestrator.Invocable(caller.OrganizationId, id);
        if (invocation.Problem is { } problem)
            return invocation.Found ? ApiErrors.BadRequest(problem) : ApiErrors.NotFound(problem);
        // The answer names the agent that gave it.
        return await CompleteAsync(http, orchestrator, invocation.AgentId, invocation.AgentName!, limits.Value, clock, draining, logger);
    }

    private static async Task<IResult> CompleteAsync(HttpContext http, Orchestrator orchestrator, Guid? agent, string modelName,
        RequestLimitsOptions limits, TimeProvider clock, Draining draining, ILogger<CompletionStream> logger)
    {
        var (read, error) = await ChatRequestReader.ReadAsync(http.Request, limits);
        if (error is not null)
            return error;
        var request = read!;
        var caller = http.Caller();
        // An agent invoked directly needs only agents:invoke, as in Junis: checked before its request is read.
        var scope = request.IsStreaming ? Scopes.Stream : Scopes.Invoke;
        if (agent is null && !caller.Has(scope))
            return ScopeChecks.Missing(scope);

        // A stream also ends when the server's drain window has passed, so it can say why before it is closed.
        var open = request.IsStreaming ? draining.Track(http.RequestAborted) : null;
        var cancellationToken = open?.Token ?? http.RequestAborted;
        TurnScope turn;
        try
        {
            turn = await orchestrator.BeginAsync(request.ToTurnRequest(caller) with { AgentId = agent }, cancellationToken);
        }
        catch
        {
            open?.Dispose();
            throw;
        }
        http.Response.Headers[SessionHeader] = turn.SessionId.ToString();
        var identity = CompletionIdentity.New(modelName, clock);
        var choices = request.N ?? 1;

        if (!request.IsStreaming)
        {
            await using (turn)
            {
                try
                {
                    var completion = await CompletionFolder.FoldAsync(turn, identity, choices, cancellationToken);
                    if (completion.RequestId is { } requestId)
                        http.Response.Headers[RequestIds.Header] = requestId;
                    if (completion.Provider is { } provider)
                        http.Response.Headers[ProviderHeader] = provider;
                    return TypedResults.Json(completion, ChatCompletionsJson.ForResults.ChatCompletion);
                }
                catch (Exception e)
                {
                    await turn.AbandonAsync();
                    if (e is ModelCallException model)
                        return ModelErrors.Result(http, model);
                    throw;
                }
            }
        }

        return await CompletionStream.StartAsync(http, turn, open!, identity, choices, request.StreamOptions?.IncludeUsage == true, draining, logger);
    }
}
