namespace Junis.Server.Errors;

/// <summary>
/// What the server answers when a request body cannot be read. Kestrel reports a broken body while it is being
/// read, as exceptions of more than one type: every one of them is the client's doing, so each is a 4xx that
/// names the problem, never a 500.
/// </summary>
public static class RequestBodyErrors
{
    public sealed record Refusal(int Status, string Message, string Code);

    // Kestrel's exception carries the reason it rejected the body only in its message.
    private const string KestrelUnexpectedEnd = "Unexpected end of request content.";

    /// <summary>The answer to <paramref name="failure"/>, or null when it says nothing about the request body.</summary>
    public static Refusal? Describe(Exception failure) => failure switch
    {
        // Kestrel parses a chunk size into an int and lets the overflow out as a plain IOException.
        IOException { InnerException: OverflowException } => new(StatusCodes.Status400BadRequest,
            "The request body's chunked encoding is malformed: a chunk size is larger than 2147483647 bytes.", "invalid_body"),
        BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } => new(StatusCodes.Status408RequestTimeout,
            "The request body arrived too slowly.", "request_timeout"),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new(StatusCodes.Status413PayloadTooLarge,
            "The request body is too large.", "request_too_large"),
        BadHttpRequestException { Message: KestrelUnexpectedEnd } => new(StatusCodes.Status400BadRequest,
            "The request body ended before it was complete.", "invalid_body"),
        // "Bad chunk size data.", "Bad chunk suffix.", "Chunked request incomplete." and the like.
        BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } bad when bad.Message.Contains("chunk", StringComparison.OrdinalIgnoreCase) =>
            new(StatusCodes.Status400BadRequest, $"The request body's chunked encoding is malformed ({bad.Message.TrimEnd('.')}).", "invalid_body"),
        _ => null,
    };
}
