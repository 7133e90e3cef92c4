using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Agents;

/// <summary>
/// The Agents API, in Junis's shapes: the caller's organization's agents, listed and shown. An agent of another
/// organization is as unknown as one that never existed.
/// </summary>
public static class AgentsApi
{
    public static IEndpointRouteBuilder MapAgents(this IEndpointRouteBuilder routes)
    {
        var agents = routes.MapGroup("/agents").WithTags("Agents");
        agents.MapGet("", ListAsync).RequireScope(Scopes.AgentsList);
        agents.MapGet("/{id}", GetAsync).RequireScope(Scopes.AgentsList);
        return routes;
    }

    public static IServiceCollection AddAgents(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, AgentsJson.ForResults));
        services.AddSingleton<AgentDirectory>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentDirectory>());
        return services;
    }

    private static async Task<Results<JsonHttpResult<AgentList>, JsonHttpResult<ErrorEnvelope>>> ListAsync(
        HttpContext http, JunisDb db, string? page, string? page_size, string? agent_type, string? is_active)
    {
        if (!Paging.TryParse(page, page_size, out var number, out var size, out var problem))
            return problem;
        if (agent_type is not null && !AgentTypes.All.Contains(agent_type))
            return ApiErrors.BadRequest($"'agent_type' must be one of {string.Join(", ", AgentTypes.All)}.", "agent_type");
        bool? active = null;
        if (is_active is not null)
        {
            if (!bool.TryParse(is_active, out var wanted))
                return ApiErrors.BadRequest("'is_active' must be true or false.", "is_active");
            active = wanted;
        }

        var query = db.Agents.AsNoTracking().Where(a => a.OrganizationId == http.Caller().OrganizationId);
        if (agent_type is not null)
            query = query.Where(a => a.AgentType == agent_type);
        if (active is { } isActive)
            query = query.Where(a => a.IsActive == isActive);
        var total = await query.CountAsync(http.RequestAborted);
        var rows = await query.OrderBy(a => a.Name).Skip((number - 1) * size).Take(size).ToListAsync(http.RequestAborted);
        return TypedResults.Json(new AgentList([.. rows.Select(AgentView.Of)], total, number, size, number * size < total), AgentsJson.ForResults.AgentList);
    }

    private static async Task<Results<JsonHttpResult<AgentDetail>, JsonHttpResult<ErrorEnvelope>>> GetAsync(string id, HttpContext http, JunisDb db)
    {
        var organization = http.Caller().OrganizationId;
        var agent = Guid.TryParse(id, out var given)
            ? await db.Agents.AsNoTracking().FirstOrDefaultAsync(a => a.Id == given && a.OrganizationId == organization, http.RequestAborted)
            : null;
        return agent is null ? ApiErrors.NotFound($"No agent '{id}'.") : TypedResults.Json(AgentDetail.Of(agent), AgentsJson.ForResults.AgentDetail);
    }
}
