using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.ChatCompletions;

/// <summary>
/// Errors the framework raises before or around our handler (routing, body limits, content negotiation,
/// unhandled exceptions) still reach clients in the OpenAI envelope, as JSON.
/// </summary>
public sealed class FrameworkErrorTests : IDisposable
{
    private const int DefaultLimit = 1024 * 1024;

    private readonly JunisApp _app = new();

    [Fact]
    public async Task MalformedJsonIsA400InTheEnvelope()
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync("""{"messages":[""");

        var error = await AssertEnvelopeAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_json");
        Assert.Null((string?)error["param"]);
    }

    [Theory]
    [InlineData("GET", "/api/external/v1/nope")]
    [InlineData("POST", "/api/external/v1/chat/completion")]
    [InlineData("POST", "/api/external/v2/chat/completions")]
    [InlineData("POST", "/v1/chat/completions")]
    public async Task UnknownRouteIsA404InTheEnvelope(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
            request.Content = Api.Json(RequestOf(100));
        using var response = await _app.CreateAuthorizedClient().SendAsync(request);

        var error = await AssertEnvelopeAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
        Assert.Contains(path, (string?)error["message"]);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    public async Task WrongMethodIsA405InTheEnvelope(string method)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), Api.Completions);
        if (method is "PUT" or "PATCH")
            request.Content = Api.Json(RequestOf(100));
        using var response = await _app.CreateAuthorizedClient().SendAsync(request);

        await AssertEnvelopeAsync(response, HttpStatusCode.MethodNotAllowed, "invalid_request_error", "method_not_allowed");
        Assert.Contains("POST", response.Content.Headers.Allow);
    }

    // The in-memory test server buffers every request body and gives it a Content-Length, so bodies without
    // one (chunked transfer) are only tested over a real socket, below.
    [Theory]
    [InlineData(null)]
    [InlineData(2048)]
    public async Task BodyOverTheLimitIsA413InTheEnvelope(int? configuredLimit)
    {
        using var app = configuredLimit is null ? new JunisApp() : WithLimit(configuredLimit.Value);
        var limit = configuredLimit ?? DefaultLimit;
        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(RequestOf(limit + 1000));

        var error = await AssertEnvelopeAsync(response, HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
        Assert.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)error["message"]);
    }

    [Fact]
    public async Task BodyWithinAConfiguredLimitIsAccepted()
    {
        using var app = WithLimit(2048);
        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(RequestOf(2000));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(null, true)]
    [InlineData(2048, false)]
    [InlineData(2048, true)]
    public async Task BodyOverTheLimitOnARealConnectionIsA413InTheEnvelope(int? configuredLimit, bool chunked)
    {
        using var app = OnARealSocket(configuredLimit);
        var limit = configuredLimit ?? DefaultLimit;
        using var response = await app.CreateAuthorizedClient().SendAsync(Post(RequestOf(limit + 1000), chunked));

        var error = await AssertEnvelopeAsync(response, HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
        Assert.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)error["message"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BodyOverTheLimitOnARealConnectionClosesThatConnection(bool chunked)
    {
        // The server never reads the rest of the body, so the connection cannot carry another request. Without
        // "Connection: close" a keep-alive client sends its next request down it and that request fails.
        using var app = OnARealSocket(2048);
        using var response = await app.CreateAuthorizedClient().SendAsync(Post(RequestOf(3000), chunked));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.True(response.Headers.ConnectionClose, $"Connection: {response.Headers.Connection}");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task WrongContentTypeIsA415InTheEnvelope(string contentType)
    {
        using var response = await _app.CreateAuthorizedClient().PostAsync(Api.Completions, new StringContent(RequestOf(100), Encoding.UTF8, contentType));

        await AssertEnvelopeAsync(response, HttpStatusCode.UnsupportedMediaType, "invalid_request_error", "unsupported_media_type");
    }

    [Fact]
    public async Task MissingContentTypeIsA415InTheEnvelope()
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(RequestOf(100)));
        Assert.Null(content.Headers.ContentType);
        using var response = await _app.CreateAuthorizedClient().PostAsync(Api.Completions, content);

        await AssertEnvelopeAsync(response, HttpStatusCode.UnsupportedMediaType, "invalid_request_error", "unsupported_media_type");
    }

    [Fact]
    public async Task UnexpectedFailureIsA500InTheEnvelopeWithoutItsDetails()
    {
        var model = new ScriptedModel((_, _, _) => throw new InvalidOperationException("connection string Password=hunter2"));
        using var app = new JunisApp(services: model.Install());
        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(RequestOf(100));

        var error = await AssertEnvelopeAsync(response, HttpStatusCode.InternalServerError, "api_error", "server_error");
        Assert.DoesNotContain("hunter2", (string?)error["message"]);
    }

    private static async Task<JsonNode> AssertEnvelopeAsync(HttpResponseMessage response, HttpStatusCode status, string type, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonNode.Parse(text)!["error"]!.AsObject();
        Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key).Order());
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.Equal(type, (string?)error["type"]);
        Assert.Equal(code, (string?)error["code"]);
        return error;
    }

    /// <summary>A valid request of exactly <paramref name="size"/> bytes.</summary>
    private static string RequestOf(int size)
    {
        const string Before = "{\"messages\":[{\"role\":\"user\",\"content\":\"", After = "\"}]}";
        return Before + new string('a', size - Before.Length - After.Length) + After;
    }

    private static HttpRequestMessage Post(string json, bool chunked)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Api.Completions)
        {
            Content = chunked ? new UnsizedContent(Encoding.UTF8.GetBytes(json)) : Api.Json(json),
        };
        request.Headers.TransferEncodingChunked = chunked;
        return request;
    }

    private static JunisApp WithLimit(int bytes) =>
        new(new() { ["Junis:Limits:MaxRequestBodyBytes"] = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    /// <summary>The server on Kestrel and a loopback port, where body limits and chunked bodies behave as in production.</summary>
    private static JunisApp OnARealSocket(int? limit)
    {
        var app = limit is null ? new JunisApp() : WithLimit(limit.Value);
        app.UseKestrel();
        app.StartServer();
        return app;
    }

    /// <summary>A JSON body whose length is not known up front, so it goes out with chunked transfer encoding.</summary>
    private sealed class UnsizedContent : StreamContent
    {
        public UnsizedContent(byte[] bytes) : base(new MemoryStream(bytes)) =>
            Headers.ContentType = new MediaTypeHeaderValue("application/json");

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    public void Dispose() => _app.Dispose();
}
