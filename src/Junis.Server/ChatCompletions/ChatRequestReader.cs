using System.Text.Json;
using Junis.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Junis.Server.ChatCompletions;

/// <summary>
/// Reads and checks the request body. Done by hand rather than by parameter binding so that every
/// malformed body gets an OpenAI error whose <c>param</c> names the field at fault.
/// </summary>
public static class ChatRequestReader
{
    public static async Task<(ChatCompletionRequest? Request, JsonHttpResult<ErrorEnvelope>? Error)> ReadAsync(
        HttpRequest http, RequestLimitsOptions limits)
    {
        if (!http.HasJsonContentType())
            return (null, ApiErrors.Create(StatusCodes.Status415UnsupportedMediaType, "Content-Type must be application/json.", code: "unsupported_media_type"));
        if (http.ContentLength > limits.MaxRequestBodyBytes)
            return (null, TooLarge(http, limits));

        ChatCompletionRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(http.Body, WireJson.Wire.ChatCompletionRequest, http.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            return (null, Malformed(e));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(http, limits));
        }

        if (request is null)
            return (null, ApiErrors.BadRequest("The request body must be a JSON object.", null, "invalid_json"));
        if (ChatRequestValidator.Validate(request, limits) is { } problem)
            return (null, ApiErrors.BadRequest(problem.Message, problem.Param, problem.Code));
        return (request, null);
    }

    private static JsonHttpResult<ErrorEnvelope> TooLarge(HttpRequest http, RequestLimitsOptions limits)
    {
        // The unread body stays on the wire, so this connection cannot carry another request: say so.
        http.HttpContext.Response.Headers.Connection = "close";
        return ApiErrors.Create(StatusCodes.Status413PayloadTooLarge,
            $"The request body is larger than {limits.MaxRequestBodyBytes} bytes.", code: "request_too_large");
    }

    private static JsonHttpResult<ErrorEnvelope> Malformed(JsonException e)
    {
        var param = ParamOf(e.Path);
        // The reader's own exception inside means broken syntax; otherwise the JSON is fine but a value has the wrong type.
        if (e.InnerException is JsonException)
        {
            var at = e.LineNumber is { } line ? $" (line {line + 1}, position {e.BytePositionInLine + 1})" : "";
            return ApiErrors.BadRequest($"The request body is not valid JSON{at}.", null, "invalid_json");
        }
        if (e is WireFormatException)
            return ApiErrors.BadRequest(e.Message, param, "invalid_value");
        return param is null
            ? ApiErrors.BadRequest("The request body must be a JSON object.", null, "invalid_type")
            : ApiErrors.BadRequest($"Invalid type for '{param}'.", param, "invalid_type");
    }

    /// <summary><c>$.messages[0].content</c> becomes <c>messages[0].content</c>; the root has no parameter.</summary>
    private static string? ParamOf(string? path) =>
        path is null or "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
