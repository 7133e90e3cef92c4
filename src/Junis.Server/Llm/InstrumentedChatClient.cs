using System.Diagnostics;
using System.Runtime.CompilerServices;
using Junis.Server.Telemetry;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// A provider's calls measured by the OpenTelemetry GenAI conventions: a <c>chat {model}</c> span when spans are kept,
/// and <c>gen_ai.client.operation.duration</c>, <c>gen_ai.client.token.usage</c> and, for streams,
/// <c>gen_ai.client.operation.time_to_first_chunk</c>. Never a message, a reply or a tool's arguments.
/// </summary>
/// <remarks>
/// Kept over Microsoft.Extensions.AI's <c>OpenTelemetryChatClient</c>, whose names and attributes it keeps (pinned by
/// <c>ModelCallTelemetryTests</c>), by measurement: that client holds every update of a stream to rebuild the answer,
/// records a histogram per chunk and resets the current activity per chunk (bench/ANALYSIS.md, "Telemetry").
/// </remarks>
internal sealed class InstrumentedChatClient(IChatClient inner, ServerMetrics metrics) : IChatClient
{
    private readonly ChatClientMetadata? _metadata = inner.GetService<ChatClientMetadata>();

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var call = Begin(options, streaming: false);
        try
        {
            var response = await inner.GetResponseAsync(messages, options, cancellationToken);
            call.Ended(response.Usage, response.FinishReason, response.ModelId, response.ResponseId, null);
            return response;
        }
        catch (Exception e)
        {
            call.Ended(null, null, null, null, e);
            throw;
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = Begin(options, streaming: true);
        UsageDetails? usage = null;
        ChatFinishReason? finish = null;
        string? model = null, id = null;
        Exception? failure = null;
        var updates = inner.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                try
                {
                    if (!await updates.MoveNextAsync())
                        break;
                }
                catch (Exception e)
                {
                    failure = e;
                    throw;
                }
                var update = updates.Current;
                call.Chunk();
                // By index: enumerating the contents through their interface would allocate for every update.
                var contents = update.Contents;
                for (var i = 0; i < contents.Count; i++)
                {
                    if (contents[i] is UsageContent reported)
                        usage = reported.Details;
                }
                finish = update.FinishReason ?? finish;
                model ??= update.ModelId;
                id ??= update.ResponseId;
                yield return update;
            }
        }
        finally
        {
            call.Ended(usage, finish, model, id, failure);
            await updates.DisposeAsync();
        }
    }

    private Call Begin(ChatOptions? options, bool streaming)
    {
        var model = options?.ModelId ?? _metadata?.DefaultModelId;
        var tags = new TagList
        {
            { "gen_ai.operation.name", "chat" },
            { "gen_ai.provider.name", _metadata?.ProviderName },
            { "gen_ai.request.model", model },
        };
        if (_metadata?.ProviderUri is { } uri)
        {
            tags.Add("server.address", uri.Host);
            tags.Add("server.port", uri.Port);
        }
        var span = ServerTelemetry.Source.StartActivity(model is null ? "chat" : "chat " + model, ActivityKind.Client);
        if (span is { IsAllDataRequested: true })
        {
            foreach (var tag in tags)
                span.SetTag(tag.Key, tag.Value);
            if (streaming)
                span.SetTag("gen_ai.request.stream", true);
        }
        return new Call(metrics, tags, span, streaming);
    }

    /// <summary>One call's measures, recorded once as it ends.</summary>
    private sealed class Call(ServerMetrics metrics, TagList tags, Activity? span, bool streaming)
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        private bool _chunked, _ended;

        public void Chunk()
        {
            if (_chunked)
                return;
            _chunked = true;
            if (!streaming)
                return;
            var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            metrics.ModelTimeToFirstChunk.Record(seconds, tags);
            if (span is { IsAllDataRequested: true })
                span.SetTag("gen_ai.response.time_to_first_chunk", seconds);
        }

        public void Ended(UsageDetails? usage, ChatFinishReason? finish, string? model, string? id, Exception? failure)
        {
            if (_ended)
                return;
            _ended = true;
            var outcome = tags;
            if (failure is not null)
                outcome.Add("error.type", failure.GetType().FullName);
            metrics.ModelCallDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, outcome);
            if (usage?.InputTokenCount is { } input)
                metrics.ModelTokenUsage.Record(input, [.. tags, new("gen_ai.token.type", "input")]);
            if (usage?.OutputTokenCount is { } output)
                metrics.ModelTokenUsage.Record(output, [.. tags, new("gen_ai.token.type", "output")]);
            if (span is null)
                return;
            if (span.IsAllDataRequested)
            {
                span.SetTag("gen_ai.response.id", id).SetTag("gen_ai.response.model", model);
                if (finish is { } reason)
                    span.SetTag("gen_ai.response.finish_reasons", new[] { reason.Value });
                if (usage?.InputTokenCount is { } inputTokens)
                    span.SetTag("gen_ai.usage.input_tokens", (int)inputTokens);
                if (usage?.OutputTokenCount is { } outputTokens)
                    span.SetTag("gen_ai.usage.output_tokens", (int)outputTokens);
            }
            if (failure is not null)
                span.SetTag("error.type", failure.GetType().FullName).SetStatus(ActivityStatusCode.Error, failure.GetType().Name);
            span.Dispose();
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

    public void Dispose() => inner.Dispose();
}
