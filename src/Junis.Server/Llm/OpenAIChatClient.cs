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
/// The OpenAI SDK behind <c>Microsoft.Extensions.AI.OpenAI</c> speaks the same protocol, but parses every answer
/// and chunk into its own models and then into the adapter's, which was measured as the largest part of this
/// server's own time per request (see bench/RESULTS.md). The protocol used here is small and stable.
/// </remarks>
public sealed class OpenAIChatClient(HttpClient http, LlmOptions options, ILogger logger) : IChatClient
{
    private readonly Uri _endpoint = new(options.BaseUrl!.TrimEnd('/') + "/chat/completions");
    private readonly AuthenticationHeaderValue? _authorization =
        string.IsNullOrEmpty(options.ApiKey) ? null : new AuthenticationHeaderValue("Bearer", options.ApiKey);
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);

    private static readonly MediaTypeHeaderValue JsonType = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue AcceptJson = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue AcceptEvents = new("text/event-stream");

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            using var response = await SendAsync(Request(messages, chatOptions, stream: false), stream: false, silence, cancellationToken);
            silence.CancelAfter(_timeout);
            var answer = ModelAnswerReader.Read(await response.Content.ReadAsByteArrayAsync(silence.Token));
            return ToResponse(answer ?? throw new JsonException("The answer was JSON null."), RequestIdOf(response));
        }
        catch (Exception e) when (Failure(e, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(Request(messages, chatOptions, stream: true), stream: true, silence, cancellationToken);
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
            var state = new StreamState { RequestId = RequestIdOf(response) };
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
                    update = ToUpdate(chunk, state);
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

    /// <summary>What one stream has shown so far.</summary>
    private sealed class StreamState
    {
        /// <summary>Whether a choice has said why it finished: a stream that closes after that is complete even without <c>[DONE]</c>.</summary>
        public bool Finished { get; set; }

        /// <summary>For servers that leave out a tool call's <c>index</c>: each new call id starts the next call.</summary>
        public int ImplicitToolIndex { get; set; } = -1;

        public string? RequestId { get; init; }

        /// <summary>Whether the answer's metadata has been passed on (once, with the first update that has any).</summary>
        public bool MetadataSent { get; set; }
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
            catch (HttpRequestException) when (attempt < options.MaxRetries)
            {
                silence.CancelAfter(Timeout.InfiniteTimeSpan);
                await Task.Delay(Backoff(attempt, null), cancellationToken);
                continue;
            }
            if (response.IsSuccessStatusCode)
                return response;

            using (response)
            {
                if (attempt < options.MaxRetries && IsWorthRetrying(response.StatusCode))
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
        404 => new ModelCallException(502, $"The model provider does not know model '{options.Model}' (HTTP 404): {providerMessage ?? "not found"}."),
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
                new ModelCallException(504, $"The model did not answer within {options.TimeoutSeconds} s.", e),
            HttpRequestException or IOException =>
                new ModelCallException(502, $"The model provider could not be reached or broke off the connection: {e.Message}", e),
            JsonException or FormatException or InvalidOperationException =>
                new ModelCallException(502, "The model provider sent a response that could not be read.", e),
            _ => new ModelCallException(502, "The model call failed.", e),
        };
        logger.LogWarning(e, "Model call failed: {Status} {Reason}", failure.Status, failure.Message);
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
        ModelRequestWriter.Write(options.Model!, messages, chatOptions, stream, options.MaxTokensField);

    private static ChatResponse ToResponse(ModelAnswer answer, string? requestId)
    {
        if (answer.Error is { } error)
            throw new ModelCallException(502, $"The model provider failed: {error.Message ?? "no details"}.");
        var choice = answer.Choices is { Count: > 0 } choices ? choices[0] : throw new JsonException("The answer has no choices.");
        var contents = new List<AIContent>();
        if ((requestId ?? answer.SystemFingerprint ?? answer.ServiceTier) is not null)
            contents.Add(new AnswerMetadata(requestId, answer.SystemFingerprint, answer.ServiceTier));
        if (choice.Message is { } reply)
            AddReply(contents, reply, choice.Logprobs, state: null);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            FinishReason = FinishReason(choice.FinishReason),
            Usage = answer.Usage is { } usage ? Usage(usage) : null,
        };
    }

    private static ChatResponseUpdate? ToUpdate(ModelAnswer chunk, StreamState state)
    {
        if (chunk.Error is { } error)
            throw new ModelCallException(502, $"The model provider failed mid-answer: {error.Message ?? "no details"}.");

        List<AIContent>? contents = null;
        if (!state.MetadataSent && (chunk.SystemFingerprint ?? chunk.ServiceTier ?? state.RequestId) is not null)
        {
            state.MetadataSent = true;
            contents = [new AnswerMetadata(state.RequestId, chunk.SystemFingerprint, chunk.ServiceTier)];
        }
        ChatFinishReason? finish = null;
        foreach (var choice in chunk.Choices ?? [])
        {
            if (choice.Delta is { } delta)
                AddReply(contents ??= [], delta, choice.Logprobs, state);
            else if (choice.Logprobs is { } logprobs)
                (contents ??= []).Add(new LogprobsContent(logprobs));
            finish ??= FinishReason(choice.FinishReason);
        }
        state.Finished |= finish is not null;
        if (chunk.Usage is { } usage)
            (contents ??= []).Add(new UsageContent(Usage(usage)));

        return contents is not { Count: > 0 } && finish is null
            ? null
            : new ChatResponseUpdate { Role = ChatRole.Assistant, Contents = contents ?? [], FinishReason = finish };
    }

    /// <summary>A reply, whole or a streamed delta of one, as contents: text, refusal, log probabilities, tool calls, other fields.</summary>
    private static void AddReply(List<AIContent> contents, ModelReply reply, JsonElement? logprobs, StreamState? state)
    {
        if (reply.Content is { Length: > 0 } text)
            contents.Add(new TextContent(text));
        if (reply.Refusal is { Length: > 0 } refusal)
            contents.Add(new RefusalContent(refusal));
        if (logprobs is { } tokens)
            contents.Add(new LogprobsContent(tokens));
        // Only when there are any: "?? []" would allocate an empty list for every chunk of text.
        if (reply.ToolCalls is { } calls)
        {
            for (var i = 0; i < calls.Count; i++)
            {
                var call = calls[i];
                int index;
                if (state is null)
                {
                    index = i;
                }
                else
                {
                    if (call.Index is null && call.Id is not null)
                        state.ImplicitToolIndex++;
                    index = call.Index ?? Math.Max(state.ImplicitToolIndex, 0);
                }
                contents.Add(new ToolCallFragment(index, call.Id, call.Function?.Name, call.Function?.Arguments ?? ""));
            }
        }
        if (reply.FunctionCall is { } legacy)
            contents.Add(new ToolCallFragment(0, null, legacy.Name, legacy.Arguments ?? "") { Legacy = true });
        if (reply.OtherFields is { } other)
            contents.Add(new ReplyFields(other));
    }

    private static UsageDetails Usage(ModelUsage usage)
    {
        var details = new UsageDetails
        {
            InputTokenCount = usage.PromptTokens,
            OutputTokenCount = usage.CompletionTokens,
            TotalTokenCount = usage.PromptTokens + usage.CompletionTokens,
        };
        foreach (var (name, count) in usage.Details ?? [])
        {
            switch (name)
            {
                case "prompt_tokens_details.cached_tokens": details.CachedInputTokenCount = count; break;
                case "completion_tokens_details.reasoning_tokens": details.ReasoningTokenCount = count; break;
                default: (details.AdditionalCounts ??= [])[name] = count; break;
            }
        }
        return details;
    }

    private static ChatFinishReason? FinishReason(string? reason) => reason switch
    {
        null => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }
}
