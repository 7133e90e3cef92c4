using Microsoft.AspNetCore.Http.HttpResults;

namespace Junis.Server.Errors;

/// <summary>The one place that turns a failure into the OpenAI error envelope.</summary>
public static class ApiErrors
{
    public static JsonHttpResult<ErrorEnvelope> Create(int status, string message, string? param = null, string? code = null) =>
        TypedResults.Json(
            new ErrorEnvelope(new ErrorBody(message, ErrorTypes.ForStatus(status), param, code)),
            ErrorsJson.ForResults.ErrorEnvelope,
            statusCode: status);

    public static JsonHttpResult<ErrorEnvelope> BadRequest(string message, string? param = null, string? code = "invalid_value") =>
        Create(StatusCodes.Status400BadRequest, message, param, code);

    public static JsonHttpResult<ErrorEnvelope> NotFound(string message) =>
        Create(StatusCodes.Status404NotFound, message, code: "not_found");

    /// <summary>Writes the envelope straight to a response that has not started (middleware, auth handlers).</summary>
    public static Task WriteAsync(HttpContext context, int status, string message, string? param = null, string? code = null)
    {
        context.Response.StatusCode = status;
        var envelope = new ErrorEnvelope(new ErrorBody(message, ErrorTypes.ForStatus(status), param, code));
        return context.Response.WriteAsJsonAsync(envelope, ErrorsJson.ForResults.ErrorEnvelope, contentType: "application/json", context.RequestAborted);
    }

    /// <summary>The message used for statuses the framework produces without a body.</summary>
    public static (string Message, string? Code) ForBareStatus(int status, HttpRequest request) => status switch
    {
        404 => ($"Unknown route: {request.Method} {request.Path}.", "not_found"),
        405 => ($"Method {request.Method} is not allowed on {request.Path}.", "method_not_allowed"),
        413 => ("The request body is too large.", "request_too_large"),
        415 => ("Content-Type must be application/json.", "unsupported_media_type"),
        401 => ("Authentication required.", "missing_api_key"),
        403 => ("Permission denied.", "insufficient_scope"),
        429 => ("Too many requests.", "rate_limit_exceeded"),
        >= 500 => ("The server could not complete the request.", "server_error"),
        _ => ("The request could not be processed.", null),
    };
}
