using System.Text;
using System.Text.Json;

namespace Junis.Server.Llm;

// What the caller is told when a model call fails, and what the log is told: the model's own words only for its 4xx.
public sealed partial class OpenAICompatibleChatClient
{
    /// <summary>
    /// A provider's refusal as the caller hears it: the model's own words only when the request is the caller's to fix
    /// (a 400, 413 or 422, or a model it does not know), its wait with a 429, and otherwise no more than whose fault it
    /// was; everything it said goes to the log.
    /// </summary>
    private static ModelCallException Refusal(HttpResponseMessage response, (string? Message, string? Body) report)
    {
        var status = (int)response.StatusCode;
        var detail = $"HTTP {status}: {report.Message ?? report.Body ?? "an empty body"}";
        return status switch
        {
            400 or 413 or 422 => new ModelCallException(400, report.Message ?? $"The model rejected the request (HTTP {status}).") { Detail = detail },
            401 or 403 => new ModelCallException(502, $"The model provider refused this server's credentials (HTTP {status}).") { Detail = detail },
            404 => new ModelCallException(502, $"The model provider does not know the model this server asks for (HTTP 404): {report.Message?.TrimEnd('.') ?? "not found"}.") { Detail = detail },
            429 => new ModelCallException(429, "The model provider is rate limiting this server; retry shortly.") { RetryAfter = RetryAfterOf(response), Detail = detail },
            408 or 504 => new ModelCallException(504, "The model provider timed out.") { Detail = detail },
            _ => new ModelCallException(502, $"The model provider failed (HTTP {status}).") { Detail = detail },
        };
    }

    /// <summary>How long the provider asks to be left alone: <c>retry-after-ms</c> (OpenAI's), else <c>Retry-After</c> (seconds or a date).</summary>
    private static TimeSpan? RetryAfterOf(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var values)
            && double.TryParse(values.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ms) && ms >= 0)
        {
            return TimeSpan.FromMilliseconds(ms);
        }
        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };
    }

    private static string? RequestIdOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-request-id", out var values) ? values.FirstOrDefault() : null;

    /// <summary>
    /// What the caller is told about a failed call: a <see cref="ModelCallException"/>, or, when the caller
    /// cancelled, a cancellation whatever broke first (null: the exception is one already).
    /// </summary>
    private Exception? Failure(Exception e, bool streaming, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return e is OperationCanceledException ? null : new OperationCanceledException("The caller cancelled the model call.", e, cancellationToken);
        var failure = e switch
        {
            ModelCallException already => already,
            // What was passed on before the cut is the model's own: a stream keeps it, as a caller who left would.
            BoundedReadStream.LimitExceededException =>
                new ModelCallException(502, $"The model's answer exceeded this server's limit of {llm.MaxResponseBytes} bytes.", e) { AnswerCut = streaming },
            OperationCanceledException or TimeoutException =>
                new ModelCallException(504, $"The model did not answer within {llm.TimeoutSeconds} s.", e),
            // The network stack's own words name the provider's address: they go to the log only.
            HttpRequestException or IOException =>
                new ModelCallException(502, "The model provider could not be reached or broke off the connection.", e),
            JsonException or FormatException or InvalidOperationException =>
                new ModelCallException(502, "The model provider sent a response that could not be read.", e),
            _ => new ModelCallException(502, "The model call failed.", e),
        };
        CallFailed(logger, e, _endpointForLog, failure.Status, failure.Message, failure.Detail ?? e.Message);
        return failure;
    }

    /// <summary>
    /// The provider's own <c>error.message</c>, when its body carries one (a body too long for one is not read on), and
    /// the body's beginning, for the log.
    /// </summary>
    private static async Task<(string? Message, string? Body)> ProviderReportAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = new byte[MaxErrorBody];
        int length;
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            length = await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return (null, null);
        }
        if (length is 0)
            return (null, null);
        var start = Encoding.UTF8.GetString(body, 0, Math.Min(length, MaxBodyLogged));
        if (length is MaxErrorBody)
            return (null, start);
        try
        {
            // OpenAI nests it in "error"; some servers (older vLLM) put it at the top.
            var answer = ModelAnswerReader.Read(body.AsSpan(0, length));
            return (answer?.Error?.Message ?? answer?.Message, start);
        }
        catch (JsonException)
        {
            return (null, start);
        }
    }

    private const int MaxBodyLogged = 1024;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model call to {Endpoint} failed: {Status} {Reason} {Detail}")]
    private static partial void CallFailed(ILogger logger, Exception e, string endpoint, int status, string reason, string detail);
}
