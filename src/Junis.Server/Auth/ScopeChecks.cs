using Junis.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Junis.Server.Auth;

public static class ScopeChecks
{
    /// <summary>The 403 for a valid key that lacks a scope, naming the scope it needs.</summary>
    public static JsonHttpResult<ErrorEnvelope> Missing(string scope) =>
        ApiErrors.Create(StatusCodes.Status403Forbidden, $"This API key lacks the '{scope}' scope.", code: "insufficient_scope");

    /// <summary>Lets only keys holding <paramref name="scope"/> reach the endpoint.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredScope(scope)).AddEndpointFilter((context, next) =>
            context.HttpContext.Caller().Has(scope) ? next(context) : ValueTask.FromResult<object?>(Missing(scope)));
}

/// <summary>The scope an endpoint requires, for its description (the API document names it).</summary>
public sealed record RequiredScope(string Scope);
