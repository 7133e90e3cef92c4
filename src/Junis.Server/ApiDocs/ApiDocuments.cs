using System.Text.Json;
using System.Text.Json.Serialization;
using Junis.Server.Auth;
using Junis.Server.ChatCompletions;
using Junis.Server.Errors;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Junis.Server.ApiDocs;

/// <summary>Whether the server describes its API: <c>/openapi/v1.json</c> and the browsable reference at <c>/docs</c>.</summary>
public sealed class ApiDocsOptions
{
    public const string Section = "Junis:OpenApi";

    public bool Enabled { get; set; } = true;
}

/// <summary>
/// The API described by ASP.NET Core's OpenAPI generator, from the endpoints and their source-generated wire types,
/// with what it cannot see added: both ways of giving a key, the scope each route requires, and OpenAI's error
/// envelope as every route's error answer. Served without a key, like the reference Scalar renders from it.
/// </summary>
public static class ApiDocuments
{
    public const string Bearer = "bearer";
    public const string ApiKeyHeader = "apiKey";

    public static IServiceCollection AddApiDocuments(this IServiceCollection services)
    {
        services.AddOptions<ApiDocsOptions>().BindConfiguration(ApiDocsOptions.Section);
        // The generator reads the types through the framework's JSON options: named and left out as every result is
        // written (WireOptions), so the document shows the names on the wire, not the framework's camelCase.
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Junis.Server",
                    Version = "v1",
                    Description = "OpenAI's Chat Completions protocol in front of an organization's orchestrator, with its sessions, agents and usage.",
                };
                // The sections the routes are filed under (each MapXxx names its own), in the order the reference lists them.
                document.Tags = new HashSet<OpenApiTag>
                {
                    new() { Name = "Chat completions", Description = "OpenAI's Chat Completions protocol, answered by the organization's orchestrator: whole or streamed, each turn kept in a session." },
                    new() { Name = "Models", Description = "The model this server offers, as OpenAI's model list names it." },
                    new() { Name = "Sessions", Description = "The conversations kept: listed, read as transcripts, their status while a turn runs, deleted." },
                    new() { Name = "Agents", Description = "The organization's agents, and each one invoked directly." },
                    new() { Name = "Usage", Description = "Requests, tokens, errors and time to first token, by day, key or agent." },
                    new() { Name = "Keys", Description = "The organization's keys, never their secrets, and the calling key." },
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "The API key as a bearer token, as the OpenAI SDKs send it.",
                };
                document.Components.SecuritySchemes[ApiKeyHeader] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = ApiKeyAuthentication.HeaderName,
                    Description = "The API key in its own header, as Junis's clients send it.",
                };
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer((schema, context, _) =>
            {
                // Read by its own converter: a string, or an array of content parts, as OpenAI's.
                if (context.JsonTypeInfo.Type == typeof(MessageContent))
                {
                    schema.Type = null;
                    schema.Properties?.Clear();
                    schema.Required?.Clear();
                    schema.AnyOf =
                    [
                        new OpenApiSchema { Type = JsonSchemaType.String },
                        new OpenApiSchema
                        {
                            Type = JsonSchemaType.Array,
                            Items = new OpenApiSchema
                            {
                                Type = JsonSchemaType.Object,
                                Description = "A content part, as OpenAI's: `{\"type\":\"text\",\"text\":…}`, `image_url`, `input_audio` or `file`.",
                            },
                        },
                        new OpenApiSchema { Type = JsonSchemaType.Null },
                    ];
                }
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (!metadata.OfType<IAuthorizeData>().Any())
                    return;
                var scopes = metadata.OfType<RequiredScope>().Select(s => s.Scope).ToList();
                operation.Security =
                [
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = scopes },
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyHeader, context.Document)] = scopes },
                ];
                if (scopes.Count > 0)
                    operation.Description = $"{operation.Description}{(operation.Description is null ? "" : " ")}Requires the scope {string.Join(", ", scopes)}.";
                var envelope = await context.GetOrCreateSchemaAsync(typeof(ErrorEnvelope), cancellationToken: cancellationToken);
                operation.Responses ??= [];
                operation.Responses["default"] = new OpenApiResponse
                {
                    Description = "An error, in OpenAI's envelope: 400 the request, 401 the key, 403 a scope, 404 not found, 429 a limit, 502 and 504 the model.",
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = envelope } },
                };
            });
        });
        return services;
    }

    /// <summary>The document and the reference, unless <c>Junis:OpenApi:Enabled</c> is false.</summary>
    public static WebApplication MapApiDocuments(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiDocsOptions>>().Value.Enabled)
            return app;
        app.MapOpenApi();
        // Nothing from another host: Scalar's default fonts would be fetched from its own.
        app.MapScalarApiReference("/docs", options => options.WithTitle("Junis.Server API").WithOpenApiRoutePattern("/openapi/{documentName}.json")
            .DisableDefaultFonts());
        return app;
    }
}
