namespace MockUpstream;

/// <summary>
/// POST /v1/chat/completions of a model server that does not answer, for the primary of a fallback chain (S8):
/// <c>--mode failing</c> refuses every request at once with HTTP 500 and an OpenAI error body; <c>--mode silent</c>
/// begins a stream at once (its headers and a role chunk) and then says nothing until the client goes away, and never
/// begins a whole answer.
/// </summary>
public sealed class BrokenCompletions(bool silent)
{
    long _plainAnswers;
    long _streamedAnswers;
    long _held;

    public async Task HandleAsync(HttpContext context)
    {
        var cancellation = context.RequestAborted;
        var shape = await RequestShape.ReadAsync(context.Request.BodyReader, cancellation);
        Interlocked.Increment(ref shape.Stream ? ref _streamedAnswers : ref _plainAnswers);
        var response = context.Response;

        if (!silent)
        {
            response.StatusCode = StatusCodes.Status500InternalServerError;
            response.ContentType = "application/json";
            response.ContentLength = Payloads.ServerError.Length;
            await response.BodyWriter.WriteAsync(Payloads.ServerError, cancellation);
            return;
        }

        Interlocked.Increment(ref _held);
        try
        {
            if (shape.Stream)
            {
                response.ContentType = "text/event-stream";
                response.Headers.CacheControl = "no-cache";
                await response.BodyWriter.WriteAsync(Payloads.RoleChunk, cancellation);
            }
            await Task.Delay(Timeout.Infinite, cancellation);
        }
        catch (OperationCanceledException)
        {
            // The client gave up on it, as it should.
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }
    }

    /// <summary>GET /mock/stats: the requests taken of each kind, and for a silent mock how many are still held open.</summary>
    public Task GetStatsAsync(HttpContext context) => context.Response.WriteAsync(
        $"plain={Interlocked.Read(ref _plainAnswers)} streamed={Interlocked.Read(ref _streamedAnswers)} held={Interlocked.Read(ref _held)}\n");
}
