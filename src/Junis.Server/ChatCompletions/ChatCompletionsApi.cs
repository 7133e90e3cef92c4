using System.Diagnostics;
using System.Text.Json.Nodes;
using Junis.Server.Auth;
using Junis.Server.Errors;
using Junis.Server.Hosting;
using Junis.Server.Llm;
using Junis.Server.Logging;
using Junis.Server.Orchestration;
using Junis.Server.Telemetry;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Junis.Server.ChatCompletions;

public static class ChatCompletionsApi
{
    /// <summary>Tells the caller which session the turn went to, for the Sessions API.</summary>
    public const string SessionHeader = "X-Session-Id";

    /// <summary>The model provider that answered (<c>Junis:Llm</c> is <c>default</c>), when it is named.</summary>
    public const string ProviderHeader = "X-Model-Provider";

    public static IEndpointRouteBuilder MapChatCompletions(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/chat/completions", CreateAsync).Describe("Creates a chat completion, answered by the organization's orchestrator",
            $"Whole, or streamed as server-sent events when `stream` is true. Requires the scope {Scopes.Invoke}, and {Scopes.Stream} to stream.")
            .WithTags("Chat completions");
        return routes;
    }

    /// <summary>
    /// One agent invoked directly, at Junis's path and at the path an OpenAI SDK whose base URL is the agent's calls:
    /// the same request and answer as chat completions, answered by that agent.
    /// </summary>
    public static IEndpointRouteBuilder MapAgentCompletions(this IEndpointRouteBuilder routes)
    {
        const string summary = "Creates a chat completion answered by one agent";
        var description = $"The agent is an active LLM_AGENT of the caller's organization. Requires the scope {Scopes.AgentsInvoke}.";
        routes.MapPost("/agents/{id}/completions", InvokeAgentAsync).Describe(summary, description).WithTags("Agents");
        routes.MapPost("/agents/{id}/chat/completions", InvokeAgentAsync).Describe(summary, description + " The path an OpenAI SDK calls with the agent's URL as its base URL.")
            .WithTags("Agents");
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
        // The model is called as the answer is read, from here on: its spans go under the turn's.
        if (turn.Span is { } span)
            Activity.Current = span;
        GatewayTiming.Attach(http, turn);
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

    /// <summary>What the API document says of a completions route: its request, and its answer whole or streamed.</summary>
    private static RouteHandlerBuilder Describe(this RouteHandlerBuilder route, string summary, string description) => route
        .WithSummary(summary).WithDescription(description)
        .Accepts<ChatCompletionRequest>("application/json")
        .Produces<ChatCompletion>(StatusCodes.Status200OK, "application/json")
        .AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            // The same status, another shape: a stream of chunks, each one event's data.
            var chunk = await context.GetOrCreateSchemaAsync(typeof(ChatCompletionChunk), cancellationToken: cancellationToken);
            operation.Responses?["200"].Content?.Add("text/event-stream", new OpenApiMediaType { Schema = chunk });
            if (operation.RequestBody?.Content?.TryGetValue("application/json", out var body) == true)
                body.Examples = RequestExamples;
        });

    /// <summary>Requests a reader of the API document can send as they are (the tests send them).</summary>
    private static readonly Dictionary<string, IOpenApiExample> RequestExamples = new()
    {
        ["whole"] = new OpenApiExample
        {
            Summary = "One message, the answer whole",
            Value = new JsonObject
            {
                ["model"] = "junis-orchestrator",
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hello" }),
            },
        },
        ["streamed"] = new OpenApiExample
        {
            Summary = "A conversation of the caller's own, streamed with its usage",
            Value = new JsonObject
            {
                ["model"] = "junis-orchestrator",
                ["session_id"] = "my-conversation-1",
                ["stream"] = true,
                ["stream_options"] = new JsonObject { ["include_usage"] = true },
                ["messages"] = new JsonArray(
                    new JsonObject { ["role"] = "system", ["content"] = "Answer in one sentence." },
                    new JsonObject { ["role"] = "user", ["content"] = "What can you do?" }),
            },
        },
    };
}
