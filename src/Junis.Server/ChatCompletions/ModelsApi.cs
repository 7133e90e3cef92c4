using Junis.Server.Errors;
using Junis.Server.Orchestration;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Junis.Server.ChatCompletions;

/// <summary><c>GET /v1/models</c>: the one model this server offers, the organization's orchestrator.</summary>
public static class ModelsApi
{
    // A fixed date, so the list is the same on every call and every node.
    private static readonly long Created = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    public static IEndpointRouteBuilder MapModels(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/models", (IOptions<OrchestratorOptions> options) =>
            TypedResults.Json(new ModelList([Card(options.Value)]), ChatCompletionsJson.ForResults.ModelList)).WithTags("Models");

        routes.MapGet("/models/{id}", Results<JsonHttpResult<ModelCard>, JsonHttpResult<ErrorEnvelope>> (string id, IOptions<OrchestratorOptions> options) =>
            id == options.Value.ModelName
                ? TypedResults.Json(Card(options.Value), ChatCompletionsJson.ForResults.ModelCard)
                : ApiErrors.NotFound($"The model '{id}' does not exist; this server offers '{options.Value.ModelName}'.")).WithTags("Models");
        return routes;
    }

    private static ModelCard Card(OrchestratorOptions options) => new(options.ModelName, Created, "junis");
}
