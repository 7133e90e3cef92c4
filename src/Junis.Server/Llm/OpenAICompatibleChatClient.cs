using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// The model behind any server that speaks the OpenAI chat completions protocol. It writes the request and
/// reads the answer with generated JSON code straight off the connection, and passes tool calls on as the
/// model wrote them, piece by piece and byte for byte. Every failure leaves as a <see cref="ModelCallException"/>;
/// a call the caller cancels stays cancelled.
/// </summary>
/// <remarks>
/// Kept over <c>Microsoft.Extensions.AI.OpenAI</c>'s <c>AsIChatClient()</c> by measurement and by what the library
/// cannot pass on as written (bench/ANALYSIS.md, "Model client"). What any other <see cref="IChatClient"/> behind
/// the orchestrator must honour is said on <see cref="ToolCallFragment"/>.
/// </remarks>
public sealed partial class OpenAICompatibleChatClient(HttpClient http, LlmOptions llm, ILogger logger, string provider = ModelProviders.Default) : IChatClient
{
    private readonly Uri _endpoint = new(llm.BaseUrl!.TrimEnd('/') + "/chat/completions");
    private readonly AuthenticationHeaderValue? _authorization =
        string.IsNullOrEmpty(llm.ApiKey) ? null : new AuthenticationHeaderValue("Bearer", llm.ApiKey);
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(llm.TimeoutSeconds);

    private static readonly MediaTypeHeaderValue JsonType = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue AcceptJson = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue AcceptEvents = new("text/event-stream");

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            using var response = await SendAsync(Request(messages, options, stream: false), stream: false, silence, cancellationToken);
            silence.CancelAfter(_timeout);
            var answer = ModelAnswerReader.Read(await response.Content.ReadAsByteArrayAsync(silence.Token));
            return ModelAnswerContents.ToResponse(answer ?? throw new JsonException("The answer was JSON null."), RequestIdOf(response), provider);
        }
        catch (Exception e) when (Failure(e, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(Request(messages, options, stream: true), stream: true, silence, cancellationToken);
        }
        catch (Exception e) when (Failure(e, cancellationToken) is { } failure)
        {
            throw failure;
        }

        silence.CancelAfter(Timeout.InfiniteTimeSpan);
        using (response)
        {
            // Chunks are parsed from the connection's own buffers as they arrive; "[DONE]" parses to null and ends the stream.
            await using var events = SseParser.Create(await response.Content.ReadAsStreamAsync(cancellationToken), ParseChunk)
                .EnumerateAsync(silence.Token).GetAsyncEnumerator(silence.Token);
            var state = new ModelAnswerContents.StreamState { RequestId = RequestIdOf(response), Provider = provider };
            while (true)
            {
                ChatResponseUpdate? update;
                try
                {
                    // The model may pause between chunks, but not for longer than the timeout; the caller may take
                    // what time it needs with each update, so the clock runs only while waiting for the model, and
                    // not at all for a chunk that has already arrived.
                    var next = events.MoveNextAsync();
                    bool more;
                    if (next.IsCompleted)
                    {
                        more = next.Result;
                    }
                    else
                    {
                        silence.CancelAfter(_timeout);
                        more = await next;
                        silence.CancelAfter(Timeout.InfiniteTimeSpan);
                    }
                    if (!more && !state.Finished)
                        throw new ModelCallException(502, "The model provider ended the stream before the answer was complete.");
                    if (!more || events.Current.Data is not { } chunk)
                        yield break;
                    update = ModelAnswerContents.ToUpdate(chunk, state);
                }
                catch (Exception e) when (Failure(e, cancellationToken) is { } failure)
                {
                    throw failure;
                }
                if (update is not null)
                    yield return update;
            }
        }
    }

    /// <summary>Sends the request, retrying what the provider says may succeed later, and returns a successful response.</summary>
    private async Task<HttpResponseMessage> SendAsync(ReadOnlyMemory<byte> body, bool stream, CancellationTokenSource silence, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ReadOnlyMemoryContent(body) };
            message.Content.Headers.ContentType = JsonType;
            message.Headers.Accept.Add(stream ? AcceptEvents : AcceptJson);
            message.Headers.Authorization = _authorization;

            silence.CancelAfter(_timeout);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, silence.Token);
            }
            catch (HttpRequestException) when (attempt < llm.MaxRetries)
            {
                silence.CancelAfter(Timeout.InfiniteTimeSpan);
                await Task.Delay(Backoff(attempt, null), cancellationToken);
                continue;
            }
            if (response.IsSuccessStatusCode)
                return response;

            using (response)
            {
                if (attempt < llm.MaxRetries && IsWorthRetrying(response.StatusCode))
                {
                    silence.CancelAfter(Timeout.InfiniteTimeSpan);
                    await Task.Delay(Backoff(attempt, response.Headers.RetryAfter), cancellationToken);
                    continue;
                }
                throw Refusal(response, await ProviderMessageAsync(response, silence.Token));
            }
        }
    }

    private const int MaxErrorBody = 64 * 1024;

    private static bool IsWorthRetrying(HttpStatusCode status) => (int)status is 408 or 429 or >= 500;

    private static TimeSpan Backoff(int attempt, RetryConditionHeaderValue? retryAfter)
    {
        if (retryAfter?.Delta is { } delta)
            return delta < TimeSpan.FromSeconds(30) ? delta : TimeSpan.FromSeconds(30);
        return TimeSpan.FromMilliseconds(500 * (1 << attempt) * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }

    private ModelCallException Refusal(HttpResponseMessage response, string? providerMessage) => (int)response.StatusCode switch
    {
        // The model's own refusal (context too long, bad parameter) is the caller's to fix: pass its words on.
        400 or 413 or 422 => new ModelCallException(400, providerMessage ?? $"The model rejected the request (HTTP {(int)response.StatusCode})."),
        401 or 403 => new ModelCallException(502, $"The model provider refused this server's credentials (HTTP {(int)response.StatusCode}); check Junis:Llm:ApiKey."),
        404 => new ModelCallException(502, $"The model provider does not know model '{llm.Model}' (HTTP 404): {providerMessage ?? "not found"}."),
        429 => new ModelCallException(429, "The model provider is rate limiting this server; retry shortly.") { RetryAfter = RetryAfterOf(response) },
        408 or 504 => new ModelCallException(504, "The model provider timed out."),
        var status => new ModelCallException(502, $"The model provider failed (HTTP {status}): {providerMessage ?? "no details"}."),
    };

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
    private Exception? Failure(Exception e, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return e is OperationCanceledException ? null : new OperationCanceledException("The caller cancelled the model call.", e, cancellationToken);
        var failure = e switch
        {
            ModelCallException already => already,
            OperationCanceledException or TimeoutException =>
                new ModelCallException(504, $"The model did not answer within {llm.TimeoutSeconds} s.", e),
            HttpRequestException or IOException =>
                new ModelCallException(502, $"The model provider could not be reached or broke off the connection: {e.Message}", e),
            JsonException or FormatException or InvalidOperationException =>
                new ModelCallException(502, "The model provider sent a response that could not be read.", e),
            _ => new ModelCallException(502, "The model call failed.", e),
        };
        CallFailed(logger, e, failure.Status, failure.Message);
        return failure;
    }

    /// <summary>The provider's own <c>error.message</c>, when its body carries one; a body too long for one is not read on.</summary>
    private static async Task<string?> ProviderMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var body = new byte[MaxErrorBody];
            var length = await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken);
            if (length is 0 or MaxErrorBody)
                return null;
            // OpenAI nests it in "error"; some servers (older vLLM) put it at the top.
            var answer = ModelAnswerReader.Read(body.AsSpan(0, length));
            return answer?.Error?.Message ?? answer?.Message;
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            return null;
        }
    }

    private static ModelAnswer? ParseChunk(string eventType, ReadOnlySpan<byte> data) =>
        data.SequenceEqual("[DONE]"u8) ? null : ModelAnswerReader.Read(data);

    private ReadOnlyMemory<byte> Request(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, bool stream) =>
        // An agent may name its own model on this provider.
        ModelRequestWriter.Write(chatOptions?.ModelId ?? llm.Model!, messages, chatOptions, stream, llm.MaxTokensField);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model call failed: {Status} {Reason}")]
    private static partial void CallFailed(ILogger logger, Exception e, int status, string reason);
}
