using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Junis.Server.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Serilog;

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

        byte[] body;
        int length;
        try
        {
            (body, length) = await ReadWholeAsync(http, limits.MaxRequestBodyBytes);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(http, limits));
        }
        catch (IOException e)
        {
            return (null, Unreadable(http, e));
        }

        try
        {
            return length > limits.MaxRequestBodyBytes ? (null, TooLarge(http, limits)) : Parse(body.AsSpan(0, length), limits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>
    /// The whole body, in a rented buffer, read no further than one byte past <paramref name="limit"/> (Kestrel
    /// enforces the limit itself, not every host does). It is read whole so that it can be checked whole.
    /// </summary>
    private static async Task<(byte[] Buffer, int Length)> ReadWholeAsync(HttpRequest http, long limit)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(http.ContentLength ?? 16 * 1024, limit) + 1);
        var length = 0;
        try
        {
            int read;
            // No cancellation token: when the client goes, Kestrel ends the read itself, and with its own verdict on a
            // body cut short, which the request's abort token would race.
            while ((read = await http.Body.ReadAsync(buffer.AsMemory(length))) > 0)
            {
                length += read;
                if (length > limit)
                    break;
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(2L * buffer.Length, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }
            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static (ChatCompletionRequest? Request, JsonHttpResult<ErrorEnvelope>? Error) Parse(ReadOnlySpan<byte> body, RequestLimitsOptions limits)
    {
        // The JSON reader checks UTF-8 only in the strings it decodes, and not at all in names it does not know or
        // values it skips: check every byte first, so that a bad one is reported as what it is, wherever it is.
        if (FirstInvalidUtf8(body) is { } at)
            return (null, ApiErrors.BadRequest(
                $"The request body is not valid UTF-8 (byte 0x{body[at]:X2} at position {at + 1}).", null, "invalid_encoding"));
        // RFC 8259 lets a parser ignore a byte order mark; the serializer skips one only when it reads a stream.
        var json = body.StartsWith(Utf8Bom) ? body[Utf8Bom.Length..] : body;
        if (FirstUndecodableString(json) is { } start)
            return (null, ApiErrors.BadRequest(
                $"The request body is not valid Unicode: the string at position {start + 1} escapes half a surrogate pair.", null, "invalid_encoding"));

        ChatCompletionRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(json, ChatCompletionsJson.ForResults.ChatCompletionRequest);
        }
        catch (JsonException e)
        {
            return (null, Malformed(e));
        }

        if (request is null)
            return (null, ApiErrors.BadRequest("The request body must be a JSON object.", null, "invalid_json"));
        if (ChatRequestValidator.Validate(request, limits) is { } problem)
            return (null, ApiErrors.BadRequest(problem.Message, problem.Param, problem.Code));
        return (request, null);
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Where the first byte that is not part of a well-formed UTF-8 sequence is, if there is one.</summary>
    private static int? FirstInvalidUtf8(ReadOnlySpan<byte> text)
    {
        if (Utf8.IsValid(text))
            return null;
        var at = 0;
        while (Rune.DecodeFromUtf8(text[at..], out _, out var length) == OperationStatus.Done)
            at += length;
        return at;
    }

    /// <summary>
    /// Where the first string is whose escapes spell no text (<c>"\ud800"</c>, half a surrogate pair), if there is one.
    /// Such a string fails wherever it is decoded, and some are decoded late (JSON kept whole for later) or never
    /// (unknown names, skipped values): finding them first gives one answer for all.
    /// </summary>
    private static long? FirstUndecodableString(ReadOnlySpan<byte> json)
    {
        // Half a surrogate pair can only be written as an escape, \uD800 to \uDFFF.
        if (json.IndexOf(@"\ud"u8) < 0 && json.IndexOf(@"\uD"u8) < 0)
            return null;
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    try
                    {
                        reader.GetString();
                    }
                    catch (InvalidOperationException)
                    {
                        return reader.TokenStartIndex;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Broken JSON: the serializer says where.
        }
        return null;
    }

    private static JsonHttpResult<ErrorEnvelope> Unreadable(HttpRequest http, IOException e)
    {
        var refusal = RequestBodyErrors.Describe(e)
            ?? new RequestBodyErrors.Refusal(StatusCodes.Status400BadRequest, "The request body could not be read.", "invalid_body");
        // The rest of the body cannot be found on the wire, so the connection cannot carry another request. The client
        // may also have hung up already, and Kestrel then drops this answer unsent: the log line keeps the reason.
        http.HttpContext.Response.Headers.Connection = "close";
        http.HttpContext.RequestServices.GetService<IDiagnosticContext>()?.Set("BodyError", refusal.Message);
        return ApiErrors.Create(refusal.Status, refusal.Message, code: refusal.Code);
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
