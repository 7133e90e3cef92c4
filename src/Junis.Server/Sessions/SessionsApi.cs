using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Junis.Server.Sessions;

/// <summary>
/// The Sessions API, in Junis's shapes. Everything is scoped to the caller's organization: a session of another
/// organization is as unknown as one that never existed. A session is found by its id or by the name its caller gave
/// it (the <c>conversation_id</c> or <c>session_id</c> of its requests).
/// </summary>
public static class SessionsApi
{
    public static IEndpointRouteBuilder MapSessions(this IEndpointRouteBuilder routes)
    {
        var sessions = routes.MapGroup("/sessions").WithTags("Sessions");
        sessions.MapGet("", ListAsync).RequireScope(Scopes.SessionsRead);
        sessions.MapGet("/{id}", GetAsync).RequireScope(Scopes.SessionsRead);
        sessions.MapGet("/{id}/messages", MessagesAsync).RequireScope(Scopes.SessionsMessages);
        sessions.MapGet("/{id}/status", StatusAsync).RequireScope(Scopes.SessionsRead);
        sessions.MapDelete("/{id}", DeleteAsync).RequireScope(Scopes.SessionsDelete);
        return routes;
    }

    private static async Task<Results<JsonHttpResult<SessionList>, JsonHttpResult<ErrorEnvelope>>> ListAsync(
        HttpContext http, JunisDb db, TimeProvider clock, IOptions<SessionsOptions> options,
        string? page, string? page_size, string? conversation_id, string? is_active)
    {
        if (!Paging.TryParse(page, page_size, out var number, out var size, out var problem))
            return problem;
        bool? active = null;
        if (is_active is not null)
        {
            if (!bool.TryParse(is_active, out var wanted))
                return ApiErrors.BadRequest("'is_active' must be true or false.", "is_active");
            active = wanted;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var idleSince = now - options.Value.Idle;
        var query = db.Sessions.AsNoTracking().Where(s => s.OrganizationId == http.Caller().OrganizationId);
        if (conversation_id is not null)
            query = query.Where(s => s.ConversationId == conversation_id);
        if (active is true)
            query = query.Where(s => s.EndedAt == null && s.LastUpdateAt > idleSince);
        else if (active is false)
            query = query.Where(s => s.EndedAt != null || s.LastUpdateAt <= idleSince);

        var total = await query.CountAsync(http.RequestAborted);
        // A named session's id follows from its name, so ids no longer sort by age: the creation time breaks ties first.
        var rows = await query.OrderByDescending(s => s.LastUpdateAt).ThenByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id)
            .Skip((number - 1) * size).Take(size)
            .ToListAsync(http.RequestAborted);
        var summaries = rows.Select(s => new SessionSummary(s.Id, s.CreatedAt, s.LastUpdateAt, s.IsActive(now, options.Value.Idle), s.MessageCount)).ToList();
        return TypedResults.Json(new SessionList(summaries, total, number, size, number * size < total), SessionsJson.ForResults.SessionList);
    }

    private static async Task<Results<JsonHttpResult<SessionDetail>, JsonHttpResult<ErrorEnvelope>>> GetAsync(
        string id, HttpContext http, JunisDb db, TimeProvider clock, IOptions<SessionsOptions> options)
    {
        if (await FindAsync(id, http, db) is not { } s)
            return NotFound(id);
        var active = s.IsActive(clock.GetUtcNow().UtcDateTime, options.Value.Idle);
        return TypedResults.Json(
            new SessionDetail(s.Id, s.CreatedAt, s.LastUpdateAt, active, s.MessageCount, s.ConversationId, s.UserId, s.PromptTokens, s.CompletionTokens),
            SessionsJson.ForResults.SessionDetail);
    }

    private static async Task<Results<JsonHttpResult<MessageList>, JsonHttpResult<ErrorEnvelope>>> MessagesAsync(
        string id, HttpContext http, JunisDb db, string? page, string? page_size)
    {
        if (!Paging.TryParse(page, page_size, out var number, out var size, out var problem))
            return problem;
        if (await FindAsync(id, http, db) is not { } session)
            return NotFound(id);

        var messages = await db.SessionMessages.AsNoTracking()
            .Where(m => m.SessionId == session.Id)
            .OrderBy(m => m.Sequence)
            .Skip((number - 1) * size).Take(size)
            .ToListAsync(http.RequestAborted);
        var views = messages.Select(m => new MessageView(
            m.Id, m.Role, m.Content, m.ToolCalls is null ? null : StoredToolCalls.Parse(m.ToolCalls), m.FinishReason, m.CreatedAt,
            m.ToolCallId, m.Interrupted)
        {
            Refusal = m.Refusal,
            Name = m.Name,
            HeardContent = m.HeardContent,
            ContentParts = m.Parts is null ? null : JsonElement.Parse(m.Parts),
            Agent = m.Agent,
            AgentSteps = m.AgentSteps is null ? null : StoredAgentSteps.Parse(m.AgentSteps),
            Provider = m.Provider,
        }).ToList();
        return TypedResults.Json(
            new MessageList(views, session.MessageCount, number, size, number * size < session.MessageCount),
            SessionsJson.ForResults.MessageList);
    }

    private static async Task<Results<JsonHttpResult<SessionStatus>, JsonHttpResult<ErrorEnvelope>>> StatusAsync(
        string id, HttpContext http, JunisDb db, SessionActivity activity, TimeProvider clock, IOptions<SessionsOptions> options)
    {
        var organization = http.Caller().OrganizationId;
        if (await FindAsync(id, http, db) is not { } s)
        {
            // A new session's first turn is still running: it is stored when the turn ends. Its id is the one its
            // caller was given, which for a named conversation follows from the name.
            var running = Guid.TryParse(id, out var given) && await activity.IsProcessingAsync(given, organization, http.RequestAborted)
                ? given : Ids.Named(organization, id);
            return await activity.IsProcessingAsync(running, organization, http.RequestAborted)
                ? TypedResults.Json(new SessionStatus(running, "processing", true, clock.GetUtcNow().UtcDateTime), SessionsJson.ForResults.SessionStatus)
                : NotFound(id);
        }
        var status = await activity.IsProcessingAsync(s.Id, organization, http.RequestAborted) ? "processing" : "idle";
        return TypedResults.Json(
            new SessionStatus(s.Id, status, s.IsActive(clock.GetUtcNow().UtcDateTime, options.Value.Idle), s.LastUpdateAt),
            SessionsJson.ForResults.SessionStatus);
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> DeleteAsync(string id, HttpContext http, JunisDb db)
    {
        var organization = http.Caller().OrganizationId;
        // A statement by id, then by name if no session has that id; the messages go with their session (the
        // foreign key cascades).
        var deleted = Guid.TryParse(id, out var sessionId)
            ? await WithId(db, organization, sessionId).ExecuteDeleteAsync(http.RequestAborted)
            : 0;
        if (deleted == 0)
            deleted = await Named(db, organization, id).ExecuteDeleteAsync(http.RequestAborted);
        return deleted == 0 ? NotFound(id) : TypedResults.NoContent();
    }

    /// <summary>
    /// The caller's session with the id <paramref name="idOrName"/>, or else the one named so. The id comes first:
    /// a caller may name a conversation with text that is another session's id.
    /// </summary>
    private static async Task<Session?> FindAsync(string idOrName, HttpContext http, JunisDb db)
    {
        var organization = http.Caller().OrganizationId;
        var byId = Guid.TryParse(idOrName, out var id)
            ? await WithId(db, organization, id).AsNoTracking().FirstOrDefaultAsync(http.RequestAborted)
            : null;
        return byId ?? await Named(db, organization, idOrName).AsNoTracking().FirstOrDefaultAsync(http.RequestAborted);
    }

    /// <summary>A search of the primary key, checked against the organization.</summary>
    internal static IQueryable<Session> WithId(JunisDb db, Guid organization, Guid id) =>
        db.Sessions.Where(s => s.Id == id && s.OrganizationId == organization);

    /// <summary>A search of the unique index on the organization and the name.</summary>
    internal static IQueryable<Session> Named(JunisDb db, Guid organization, string name) =>
        db.Sessions.Where(s => s.OrganizationId == organization && s.ConversationId == name);

    private static JsonHttpResult<ErrorEnvelope> NotFound(string id) => ApiErrors.NotFound($"No session '{id}'.");
}
