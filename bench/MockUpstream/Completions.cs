using System.Buffers;

namespace MockUpstream;

/// <summary>
/// POST /v1/chat/completions. Pacing comes from the defaults (command line, or POST /mock/defaults so a
/// driver can re-pace one running mock between scenarios) unless the request's x-mock-* headers override it.
/// </summary>
public sealed class Completions(StreamSettings defaults)
{
    StreamSettings _defaults = defaults;
    long _plainAnswers;
    long _streamedAnswers;

    public async Task HandleAsync(HttpContext context)
    {
        var cancellation = context.RequestAborted;
        var shape = await RequestShape.ReadAsync(context.Request.BodyReader, cancellation);
        var settings = Volatile.Read(ref _defaults).OverriddenBy(context.Request.Headers);
        var response = context.Response;

        if (!shape.Stream)
        {
            Interlocked.Increment(ref _plainAnswers);
            var body = Payloads.Completion(settings.Chunks);
            response.ContentType = "application/json";
            response.ContentLength = body.Length;
            await response.BodyWriter.WriteAsync(body, cancellation);
            return;
        }

        Interlocked.Increment(ref _streamedAnswers);
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        try
        {
            await StreamAsync(response, settings, shape.IncludeUsage, cancellation);
        }
        catch (OperationCanceledException)
        {
            // The client went away mid-stream; nothing is left to tell it.
        }
    }

    static async Task StreamAsync(HttpResponse response, StreamSettings settings, bool includeUsage, CancellationToken cancellation)
    {
        var writer = response.BodyWriter;
        for (var i = 0; i < settings.Chunks; i++)
        {
            if (i > 0 && settings.DelayMs > 0)
                await Task.Delay(settings.DelayMs, cancellation);
            writer.Write(Payloads.ContentChunk(i));
            // Without a pause the whole answer goes out in one flush, as a fast server's would.
            if (settings.DelayMs > 0)
                await writer.FlushAsync(cancellation);
        }
        writer.Write(Payloads.FinishChunk);
        if (includeUsage)
            writer.Write(Payloads.UsageChunk(settings.Chunks));
        writer.Write(Payloads.Done);
        await writer.FlushAsync(cancellation);
    }

    public static Task ListModelsAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(Payloads.Models).AsTask();
    }

    /// <summary>GET /mock/stats: how many answers of each kind were given, so a driver can tell what a gateway asked for.</summary>
    public Task GetStatsAsync(HttpContext context) => context.Response.WriteAsync(
        $"plain={Interlocked.Read(ref _plainAnswers)} streamed={Interlocked.Read(ref _streamedAnswers)}\n");

    public Task SetDefaultsAsync(HttpContext context)
    {
        var settings = Volatile.Read(ref _defaults).OverriddenBy(context.Request.Query);
        Volatile.Write(ref _defaults, settings);
        return context.Response.WriteAsync($"chunks={settings.Chunks} delay_ms={settings.DelayMs}\n");
    }
}
