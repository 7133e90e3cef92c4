using System.Net;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Junis.Server.Tests.ApiDocs;

/// <summary>
/// The API described: <c>/openapi/v1.json</c>, served without a key, is a valid OpenAPI document (read back by
/// Microsoft.OpenApi's reader and checked by its rules), names every route the server maps with both ways of giving
/// a key and each route's scope; <c>/docs</c> renders the reference; both can be switched off.
/// </summary>
public sealed class ApiDocumentTests
{
    private static async Task<(string Json, OpenApiDocument Document, OpenApiDiagnostic Diagnostic)> ReadAsync(JunisApp app)
    {
        using var response = await app.CreateClient().GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadAsStringAsync();
        var read = OpenApiDocument.Parse(json, "json");
        return (json, read.Document!, read.Diagnostic!);
    }

    [Fact]
    public async Task TheDocumentIsValidOpenApi()
    {
        using var app = new JunisApp();

        var (_, document, diagnostic) = await ReadAsync(app);

        Assert.Empty(diagnostic.Errors);
        Assert.Empty(document.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? []);
        Assert.Equal("Junis.Server", document.Info.Title);
    }

    [Fact]
    public async Task EveryRouteOfTheApiIsDescribedWithItsKeySchemesAndScope()
    {
        using var app = new JunisApp();
        var (_, document, _) = await ReadAsync(app);

        var mapped = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => "/" + e.RoutePattern.RawText!.Trim('/'))
            .Where(path => path.StartsWith("/api/external/", StringComparison.Ordinal))
            .ToHashSet();
        Assert.NotEmpty(mapped);
        Assert.Subset(document.Paths.Keys.ToHashSet(), mapped);

        Assert.Equal(["apiKey", "bearer"], document.Components!.SecuritySchemes!.Keys.Order());
        var usage = document.Paths["/api/external/usage"].Operations![HttpMethod.Get];
        Assert.All(usage.Security!, requirement => Assert.Equal(["admin:read"], requirement.Values.Single()));
        var messages = document.Paths["/api/external/sessions/{id}/messages"].Operations![HttpMethod.Get];
        Assert.Equal(2, messages.Security!.Count);
        Assert.All(messages.Security, requirement => Assert.Equal(["sessions:messages"], requirement.Values.Single()));
    }

    [Fact]
    public async Task EveryOperationIsFiledUnderOneDescribedSection()
    {
        using var app = new JunisApp();
        var (_, document, _) = await ReadAsync(app);

        var operations = document.Paths.Values.SelectMany(p => p.Operations!.Values).ToList();
        Assert.All(operations, o => Assert.Single(o.Tags!));
        var used = operations.Select(o => o.Tags!.Single().Name).ToHashSet();
        Assert.Equal(["Agents", "Chat completions", "Keys", "Models", "Sessions", "Usage"], used.Order());
        Assert.Equal(used.Order(), document.Tags!.Select(t => t.Name).Order());
        Assert.All(document.Tags!, t => Assert.False(string.IsNullOrWhiteSpace(t.Description)));
    }

    [Fact]
    public async Task ChatCompletionsAreDescribedWholeAndStreamedWithTheErrorEnvelope()
    {
        using var app = new JunisApp();
        var (_, document, _) = await ReadAsync(app);

        var completions = document.Paths["/api/external/v1/chat/completions"].Operations![HttpMethod.Post];
        Assert.Contains("application/json", completions.RequestBody!.Content!.Keys);
        var ok = completions.Responses!["200"].Content!;
        Assert.Equal(["application/json", "text/event-stream"], ok.Keys.Order());
        Assert.Contains("choices", ok["application/json"].Schema!.Properties!.Keys);
        Assert.Contains("usage", ok["application/json"].Schema!.Properties!.Keys);
        // A chunk's choices carry a delta, a whole completion's a message.
        Assert.Contains("delta", ok["text/event-stream"].Schema!.Properties!["choices"].Items!.Properties!.Keys);
        Assert.Contains("message", ok["application/json"].Schema!.Properties!["choices"].Items!.Properties!.Keys);
        var error = completions.Responses["default"].Content!["application/json"].Schema!;
        Assert.Contains("error", error.Properties!.Keys);
        Assert.Equal(["code", "message", "param", "type"], error.Properties["error"].Properties!.Keys.Order());
    }

    [Fact]
    public async Task TheSchemasNameTheFieldsAsTheyAreOnTheWire()
    {
        using var app = new JunisApp();
        var (_, document, _) = await ReadAsync(app);

        var names = document.Components!.Schemas!.Values.SelectMany(PropertyNames).ToList();
        Assert.Contains("max_tokens", names);
        Assert.Contains("page_size", names);
        Assert.All(names, name => Assert.Matches("^[a-z0-9_]+$", name));
        // A message's content is a string or an array of parts, as its converter reads it.
        var content = document.Components.Schemas["MessageContent"];
        Assert.Equal([JsonSchemaType.String, JsonSchemaType.Array, JsonSchemaType.Null], content.AnyOf!.Select(s => s.Type!.Value));
        Assert.DoesNotContain(document.Components.Schemas.Keys, name => name.StartsWith("AIContent", StringComparison.Ordinal));
    }

    private static IEnumerable<string> PropertyNames(IOpenApiSchema schema) =>
        (schema.Properties ?? new Dictionary<string, IOpenApiSchema>()).SelectMany(p => PropertyNames(p.Value).Prepend(p.Key))
            .Concat(schema.Items is { } items ? PropertyNames(items) : []);

    [Fact]
    public async Task TheDocumentsExamplesAreAnsweredAsTheySay()
    {
        using var app = new JunisApp();
        var (json, _, _) = await ReadAsync(app);
        var client = app.CreateAuthorizedClient();

        // Read from the JSON as served: the examples a reader copies.
        var examples = System.Text.Json.Nodes.JsonNode.Parse(json)!["paths"]!["/api/external/v1/chat/completions"]!["post"]!
            ["requestBody"]!["content"]!["application/json"]!["examples"]!.AsObject();
        Assert.Equal(["streamed", "whole"], examples.Select(e => e.Key).Order());
        foreach (var (name, example) in examples)
        {
            var body = example!["value"]!.ToJsonString();
            using var response = await client.PostCompletionAsync(body);
            var answer = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}: {answer}");
            if (name == "streamed")
                Assert.EndsWith("data: [DONE]", answer.TrimEnd());
            else
                Assert.StartsWith("Echo: Hello", (string?)System.Text.Json.Nodes.JsonNode.Parse(answer)!["choices"]![0]!["message"]!["content"]);
        }
    }

    [Fact]
    public async Task TheReferenceRendersWithoutAKey()
    {
        using var app = new JunisApp();
        var client = app.CreateClient();

        using var response = await client.GetAsync("/docs/");
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        // Relative to the server's root, where the document is (Scalar's script resolves it so).
        Assert.Contains("\"url\":\"openapi/v1.json\"", page);
        using var script = await client.GetAsync("/docs/scalar.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Fact]
    public async Task BothCanBeSwitchedOff()
    {
        using var app = new JunisApp(new() { ["Junis:OpenApi:Enabled"] = "false" });
        var client = app.CreateClient();

        using var document = await client.GetAsync("/openapi/v1.json");
        using var reference = await client.GetAsync("/docs/");

        Assert.Equal(HttpStatusCode.NotFound, document.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, reference.StatusCode);
    }
}
