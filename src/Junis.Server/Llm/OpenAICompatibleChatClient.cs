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
/// model wrote them, piece by piece and byte for byte. No answer is read past <see cref="LlmOptions.MaxResponseBytes"/>.
/// Every failure leaves as a <see cref="ModelCallException"/> that tells the caller nothing of this server's insides,
/// and is logged in full; a call the caller cancels stays cancelled.
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

    /// <summary>The endpoint as the log names it: without any user information its URL may carry.</summary>
    private readonly string _endpointForLog = new Uri(llm.BaseUrl!.TrimEnd('/') + "/chat/completions")
        .GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);

    /// <summary>What a span of its calls names: the protocol's provider, the server's host and port, and the model.</summary>
    private readonly ChatClientMetadata _metadata = new("openai", new Uri(llm.BaseUrl!), llm.Model);

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
            var answer = ModelAnswerReader.Read((await ReadWholeAsync(response, silence.Token)).Span);
            return ModelAnswerContents.ToResponse(answer ?? throw new JsonException("The answer was JSON null."), RequestIdOf(response), provider);
        }
        catch (Exception e) when (Failure(e, streaming: false, cancellationToken) is { } failure)
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
        catch (Exception e) when (Failure(e, streaming: true, cancellationToken) is { } failure)
        {
            throw failure;
        }

        silence.CancelAfter(Timeout.InfiniteTimeSpan);
        using (response)
        {
            // Chunks are parsed from the connection's own buffers as they arrive; "[DONE]" parses to null and ends the stream.
            await using var events = SseParser.Create(await BodyAsync(response, cancellationToken), ParseChunk)
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
                catch (Exception e) when (Failure(e, streaming: true, cancellationToken) is { } failure)
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
                return WithinLimit(response);

            using (response)
            {
                if (attempt < llm.MaxRetries && IsWorthRetrying(response.StatusCode))
                {
                    silence.CancelAfter(Timeout.InfiniteTimeSpan);
                    await Task.Delay(Backoff(attempt, response.Headers.RetryAfter), cancellationToken);
                    continue;
                }
                throw Refusal(response, await ProviderReportAsync(response, silence.Token));
            }
        }
    }

    /// <summary>A successful response, unless it declares a body longer than the limit: that fails before a byte is read.</summary>
    private HttpResponseMessage WithinLimit(HttpResponseMessage response)
    {
        if (response.Content.Headers.ContentLength is not { } declared || declared <= llm.MaxResponseBytes)
            return response;
        response.Dispose();
        throw new BoundedReadStream.LimitExceededException($"The response declares a body of {declared} bytes.");
    }

    /// <summary>The response body, read no further than the limit.</summary>
    private async Task<Stream> BodyAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        new BoundedReadStream(await response.Content.ReadAsStreamAsync(cancellationToken), llm.MaxResponseBytes);

    /// <summary>A whole answer's bytes, in one buffer the size of the answer when its length is declared.</summary>
    private async Task<ReadOnlyMemory<byte>> ReadWholeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var body = await BodyAsync(response, cancellationToken);
        using var whole = new MemoryStream((int)(response.Content.Headers.ContentLength ?? Math.Min(16 * 1024, llm.MaxResponseBytes)));
        await body.CopyToAsync(whole, cancellationToken);
        return whole.GetBuffer().AsMemory(0, (int)whole.Length);
    }

    private const int MaxErrorBody = 64 * 1024;

    private static bool IsWorthRetrying(HttpStatusCode status) => (int)status is 408 or 429 or >= 500;

    private static TimeSpan Backoff(int attempt, RetryConditionHeaderValue? retryAfter)
    {
        if (retryAfter?.Delta is { } delta)
            return delta < TimeSpan.FromSeconds(30) ? delta : TimeSpan.FromSeconds(30);
        return TimeSpan.FromMilliseconds(500 * (1 << attempt) * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }

    private static ModelAnswer? ParseChunk(string eventType, ReadOnlySpan<byte> data) =>
        data.SequenceEqual("[DONE]"u8) ? null : ModelAnswerReader.Read(data);

    private ReadOnlyMemory<byte> Request(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, bool stream) =>
        // An agent may name its own model on this provider.
        ModelRequestWriter.Write(chatOptions?.ModelId ?? llm.Model!, messages, chatOptions, stream, llm.MaxTokensField);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }
}
