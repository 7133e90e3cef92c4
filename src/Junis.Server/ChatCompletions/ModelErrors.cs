using System.Globalization;
using Junis.Server.Errors;
using Junis.Server.Llm;

namespace Junis.Server.ChatCompletions;

/// <summary>
/// A failed model call as the caller hears it, before or after the first byte: the model's status kept (a 504 for
/// a model that fell silent), a code that says whose fault it was, and the model's own wait passed on.
/// </summary>
public static class ModelErrors
{
    /// <summary>The answer to a request whose model call failed before anything was sent.</summary>
    public static IResult Result(HttpContext http, ModelCallException e)
    {
        // The provider's own wait, passed on, so an SDK backs off as long as the provider asked rather than giving up.
        if (e.RetryAfter is { } wait)
        {
            http.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            http.Response.Headers["retry-after-ms"] = Math.Ceiling(wait.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
        return ApiErrors.Create(e.Status, e.Message, code: e.Status switch
        {
            400 => "model_rejected_request",
            429 => "upstream_rate_limited",
            504 => "timeout",
            _ => "model_error",
        });
    }

    /// <summary>The error event of a stream that failed after it started; a failure that is not the model's says no more.</summary>
    public static ErrorEnvelope StreamEvent(Exception e)
    {
        var (status, message) = e is ModelCallException model ? (model.Status, model.Message) : (500, "The stream failed.");
        return new ErrorEnvelope(new ErrorBody(message, ErrorTypes.ForStatus(status), null, status == 504 ? "timeout" : "stream_error"));
    }
}
