using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>The official OpenAI .NET client, pointed at the server under test as a user would point it.</summary>
public static class OfficialClient
{
    public static ChatClient Chat(JunisApp app, string key = JunisApp.Key, string model = "junis-orchestrator", JsonObject? extraBody = null,
        SdkTraffic? traffic = null) =>
        new(model, new ApiKeyCredential(key), Options(app, extraBody, traffic));

    /// <summary>
    /// The client a user gets by giving one agent's URL, <c>…/api/external/agents/{id}</c>, as the SDK's base URL: its
    /// requests go to that agent's <c>chat/completions</c>, and the model it names is not what picks who answers.
    /// </summary>
    public static ChatClient Agent(JunisApp app, Guid agent, string key = JunisApp.Key, string model = "junis-agent") =>
        new(model, new ApiKeyCredential(key), Options(app, basePath: $"/api/external/agents/{agent}"));

    /// <summary>
    /// Options for the app's own transport: in memory, or its real socket once the test has called
    /// <c>UseKestrel</c> and <c>StartServer</c> (the client's base address says which). The SDK's base URL is
    /// <paramref name="basePath"/> on the server.
    /// </summary>
    public static OpenAIClientOptions Options(JunisApp app, JsonObject? extraBody = null, SdkTraffic? traffic = null,
        string basePath = "/api/external/v1")
    {
        var http = app.CreateClient();
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, basePath),
            Transport = new HttpClientPipelineTransport(http),
            // The server's own errors are what these tests look at; retries would only repeat them.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        if (extraBody is not null)
            options.AddPolicy(new ExtraBody(extraBody), PipelinePosition.PerCall);
        if (traffic is not null)
            options.AddPolicy(traffic, PipelinePosition.BeforeTransport);
        return options;
    }

    /// <summary>Adds fields to every request body, as <c>extra_body</c> does in the Python SDK.</summary>
    private sealed class ExtraBody(JsonObject fields) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Merge(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Merge(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Merge(PipelineMessage message)
        {
            var body = SdkTraffic.BodyOf(message)!;
            foreach (var (name, value) in fields)
                body[name] = value?.DeepClone();
            message.Request.Content = BinaryContent.Create(BinaryData.FromString(body.ToJsonString()));
        }
    }

    /// <summary>
    /// A streamed completion as the SDK's updates add up: the text, the refusal, each tool call (its pieces joined by
    /// index), the content tokens' log probabilities, and the finish reason.
    /// </summary>
    public static async Task<StreamedCompletion> CollectAsync(this AsyncCollectionResult<StreamingChatCompletionUpdate> updates)
    {
        var text = new StringBuilder();
        var refusal = new StringBuilder();
        var calls = new SortedDictionary<int, (string? Id, string? Name, StringBuilder Arguments)>();
        var logprobs = new List<ChatTokenLogProbabilityDetails>();
        ChatFinishReason? finish = null;
        await foreach (var update in updates)
        {
            foreach (var part in update.ContentUpdate)
                text.Append(part.Text);
            refusal.Append(update.RefusalUpdate);
            foreach (var piece in update.ToolCallUpdates)
            {
                var call = calls.TryGetValue(piece.Index, out var known) ? known : (null, null, new StringBuilder());
                call.Id ??= piece.ToolCallId;
                call.Name ??= piece.FunctionName;
                if (piece.FunctionArgumentsUpdate is { } arguments)
                    call.Arguments.Append(arguments.ToString());
                calls[piece.Index] = call;
            }
            logprobs.AddRange(update.ContentTokenLogProbabilities);
            finish ??= update.FinishReason;
        }
        return new StreamedCompletion(text.ToString(), refusal.ToString(),
            calls.Values.Select(c => ChatToolCall.CreateFunctionToolCall(c.Id, c.Name, BinaryData.FromString(c.Arguments.ToString()))).ToList(),
            logprobs, finish);
    }
}

public sealed record StreamedCompletion(string Text, string Refusal, IReadOnlyList<ChatToolCall> ToolCalls,
    IReadOnlyList<ChatTokenLogProbabilityDetails> ContentTokenLogProbabilities, ChatFinishReason? FinishReason);

/// <summary>
/// What the SDK put on the wire and what came back, request by request: each body as the SDK serialized it (so a test
/// can compare it with what reached the model) and each response's headers (including a stream's, which the SDK's
/// streaming result does not expose).
/// </summary>
public sealed class SdkTraffic : PipelinePolicy
{
    private readonly List<JsonObject> _sent = [];
    private readonly List<IReadOnlyDictionary<string, string>> _headers = [];

    public IReadOnlyList<JsonObject> Sent { get { lock (_sent) return [.. _sent]; } }

    public IReadOnlyList<IReadOnlyDictionary<string, string>> ResponseHeaders { get { lock (_headers) return [.. _headers]; } }

    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        Record(message);
        ProcessNext(message, pipeline, currentIndex);
        RecordHeaders(message);
    }

    public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        Record(message);
        await ProcessNextAsync(message, pipeline, currentIndex);
        RecordHeaders(message);
    }

    internal static JsonObject? BodyOf(PipelineMessage message)
    {
        if (message.Request.Content is not { } content)
            return null;
        using var buffer = new MemoryStream();
        content.WriteTo(buffer);
        return JsonNode.Parse(buffer.ToArray())!.AsObject();
    }

    private void Record(PipelineMessage message)
    {
        if (BodyOf(message) is { } body)
            lock (_sent) _sent.Add(body);
    }

    private void RecordHeaders(PipelineMessage message)
    {
        if (message.Response is { } response)
            lock (_headers) _headers.Add(response.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
    }
}
