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
            using var response = await SendAsync(Request(messages, chatOptions, stream: false), silence, cancellationToken);
            silence.CancelAfter(_timeout);
            var answer = ModelAnswerReader.Read(await response.Content.ReadAsByteArrayAsync(silence.Token));
            return ToResponse(answer ?? throw new JsonException("The answer was JSON null."));
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
            response = await SendAsync(Request(messages, chatOptions, stream: true), silence, cancellationToken);
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
            var state = new StreamState();
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
    }

    /// <summary>Sends the request, retrying what the provider says may succeed later, and returns a successful response.</summary>
    private async Task<HttpResponseMessage> SendAsync(ModelRequest request, CancellationTokenSource silence, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, ModelJson.Default.ModelRequest);
        for (var attempt = 0; ; attempt++)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(body) };
            message.Content.Headers.ContentType = JsonType;
            message.Headers.Accept.Add(request.Stream == true ? AcceptEvents : AcceptJson);
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
                throw Refusal((int)response.StatusCode, await ProviderMessageAsync(response, silence.Token));
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

    private ModelCallException Refusal(int status, string? providerMessage) => status switch
    {
        // The model's own refusal (context too long, bad parameter) is the caller's to fix: pass its words on.
        400 or 413 or 422 => new ModelCallException(400, providerMessage ?? $"The model rejected the request (HTTP {status})."),
        401 or 403 => new ModelCallException(502, $"The model provider refused this server's credentials (HTTP {status}); check Junis:Llm:ApiKey."),
        404 => new ModelCallException(502, $"The model provider does not know model '{options.Model}' (HTTP 404): {providerMessage ?? "not found"}."),
        429 => new ModelCallException(429, "The model provider is rate limiting this server; retry shortly."),
        408 or 504 => new ModelCallException(504, "The model provider timed out."),
        _ => new ModelCallException(502, $"The model provider failed (HTTP {status}): {providerMessage ?? "no details"}."),
    };

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

    private ModelRequest Request(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, bool stream)
    {
        var tools = chatOptions?.Tools is { Count: > 0 } declared
            ? declared.OfType<AIFunctionDeclaration>().Select(t => new ModelTool(new ModelFunction(
                t.Name, string.IsNullOrEmpty(t.Description) ? null : t.Description, t.JsonSchema))).ToList()
            : null;
        return new ModelRequest(options.Model!, ToModelMessages(messages))
        {
            Temperature = chatOptions?.Temperature,
            TopP = chatOptions?.TopP,
            FrequencyPenalty = chatOptions?.FrequencyPenalty,
            PresencePenalty = chatOptions?.PresencePenalty,
            MaxCompletionTokens = options.MaxTokensField == LlmOptions.MaxCompletionTokens ? chatOptions?.MaxOutputTokens : null,
            MaxTokens = options.MaxTokensField == LlmOptions.MaxTokens ? chatOptions?.MaxOutputTokens : null,
            Stop = chatOptions?.StopSequences is { Count: > 0 } stop ? stop : null,
            Tools = tools,
            ToolChoice = tools is null ? null : ToolChoice(chatOptions!.ToolMode),
            ParallelToolCalls = tools is null ? null : chatOptions!.AllowMultipleToolCalls,
            User = chatOptions?.AdditionalProperties?.TryGetValue(EndUserKey, out var user) == true ? user as string : null,
            Stream = stream ? true : null,
            StreamOptions = stream ? IncludeUsage : null,
        };
    }

    /// <summary>Where the end user's id travels in <see cref="ChatOptions.AdditionalProperties"/>; sent as <c>user</c>.</summary>
    public const string EndUserKey = "end_user_id";

    private static readonly ModelStreamOptions IncludeUsage = new(IncludeUsage: true);

    private static JsonElement? ToolChoice(ChatToolMode? mode) => mode switch
    {
        NoneChatToolMode => NoTool,
        RequiredChatToolMode { RequiredFunctionName: { } name } =>
            JsonSerializer.SerializeToElement(new ModelToolChoice(new ModelFunctionName(name)), ModelJson.Default.ModelToolChoice),
        RequiredChatToolMode => SomeTool,
        AutoChatToolMode => AnyTool,
        _ => null,
    };

    private static readonly JsonElement NoTool = JsonDocument.Parse("\"none\"").RootElement;
    private static readonly JsonElement SomeTool = JsonDocument.Parse("\"required\"").RootElement;
    private static readonly JsonElement AnyTool = JsonDocument.Parse("\"auto\"").RootElement;

    private static List<ModelMessage> ToModelMessages(IEnumerable<ChatMessage> messages)
    {
        var result = new List<ModelMessage>();
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.Tool)
            {
                foreach (var toolResult in message.Contents.OfType<FunctionResultContent>())
                    result.Add(new ModelMessage("tool", toolResult.Result as string ?? toolResult.Result?.ToString() ?? "") { ToolCallId = toolResult.CallId });
            }
            else if (message.Role == ChatRole.Assistant)
            {
                var calls = message.Contents.OfType<FunctionCallContent>()
                    .Select(c => new ModelToolCall { Id = c.CallId, Function = new ModelFunctionCall { Name = c.Name, Arguments = ArgumentsJson(c) } })
                    .ToList();
                var text = message.Text;
                result.Add(new ModelMessage("assistant", text.Length == 0 && calls.Count > 0 ? null : text) { ToolCalls = calls.Count > 0 ? calls : null });
            }
            else
            {
                var role = message.Role == ChatRole.System ? "system" : "user";
                result.Add(new ModelMessage(role, message.Text) { Name = message.AuthorName });
            }
        }
        return result;
    }

    /// <summary>
    /// A tool call of the conversation so far, for the model: parsed for any model that reads
    /// <see cref="FunctionCallContent.Arguments"/>, and carrying the arguments as written in
    /// <see cref="AIContent.RawRepresentation"/>, which this client sends back byte for byte.
    /// </summary>
    public static FunctionCallContent ToolCall(string callId, string name, string arguments)
    {
        var call = FunctionCallContent.CreateFromParsedArguments(arguments, callId, name,
            static json => JsonSerializer.Deserialize<Dictionary<string, object?>>(json, AIJsonUtilities.DefaultOptions));
        call.RawRepresentation = arguments;
        return call;
    }

    /// <summary>A call's arguments as the model wrote them, when they came with it (see <see cref="ToolCall"/>).</summary>
    private static string ArgumentsJson(FunctionCallContent call) => call.RawRepresentation as string ?? (call.Arguments is null
        ? "{}"
        : JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>))));

    private static ChatResponse ToResponse(ModelAnswer answer)
    {
        if (answer.Error is { } error)
            throw new ModelCallException(502, $"The model provider failed: {error.Message ?? "no details"}.");
        var choice = answer.Choices is { Count: > 0 } choices ? choices[0] : throw new JsonException("The answer has no choices.");
        var contents = new List<AIContent>();
        if (choice.Message is { } reply)
        {
            if ((reply.Content ?? reply.Refusal) is { Length: > 0 } text)
                contents.Add(new TextContent(text));
            var calls = reply.ToolCalls ?? [];
            for (var i = 0; i < calls.Count; i++)
                contents.Add(new ToolCallFragment(i, calls[i].Id, calls[i].Function?.Name, calls[i].Function?.Arguments ?? ""));
        }
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
        ChatFinishReason? finish = null;
        foreach (var choice in chunk.Choices ?? [])
        {
            if (choice.Delta is { } delta)
            {
                if ((delta.Content ?? delta.Refusal) is { Length: > 0 } text)
                    (contents ??= []).Add(new TextContent(text));
                // Only when there are any: "?? []" would allocate an empty list for every chunk of text.
                if (delta.ToolCalls is { } calls)
                {
                    foreach (var call in calls)
                    {
                        if (call.Index is null && call.Id is not null)
                            state.ImplicitToolIndex++;
                        var index = call.Index ?? Math.Max(state.ImplicitToolIndex, 0);
                        (contents ??= []).Add(new ToolCallFragment(index, call.Id, call.Function?.Name, call.Function?.Arguments ?? ""));
                    }
                }
            }
            finish ??= FinishReason(choice.FinishReason);
        }
        state.Finished |= finish is not null;
        if (chunk.Usage is { } usage)
            (contents ??= []).Add(new UsageContent(Usage(usage)));

        return contents is null && finish is null
            ? null
            : new ChatResponseUpdate { Role = ChatRole.Assistant, Contents = contents ?? [], FinishReason = finish };
    }

    private static UsageDetails Usage(ModelUsage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.PromptTokens + usage.CompletionTokens,
    };

    private static ChatFinishReason? FinishReason(string? reason) => reason switch
    {
        null => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" or "function_call" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }
}
