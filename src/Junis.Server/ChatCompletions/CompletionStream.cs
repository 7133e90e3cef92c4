using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Junis.Server.Errors;
using Junis.Server.Hosting;
using Junis.Server.Llm;
using Junis.Server.Logging;
using Junis.Server.Orchestration;
using Microsoft.AspNetCore.Http.Features;

namespace Junis.Server.ChatCompletions;

/// <summary>The identity every chunk or completion of one response shares.</summary>
public sealed record CompletionIdentity(string Id, long Created, string Model)
{
    public static CompletionIdentity New(string model, TimeProvider clock) =>
        new(Ids.Random("chatcmpl-"), clock.GetUtcNow().ToUnixTimeSeconds(), model);
}

/// <summary>
/// Writes turn events as server-sent events: a role chunk first for each choice, each event as a chunk the
/// moment it happens, a finish chunk per choice, the usage chunk when asked, then <c>[DONE]</c>. A failure after
/// the first byte sends one error event, no <c>[DONE]</c>, and breaks the connection off, so a cut stream never looks complete.
/// </summary>
/// <remarks>
/// Written straight into the response pipe rather than through <c>TypedResults.ServerSentEvents</c>, which
/// flushes after every event: here chunks are serialized in place and flushed whenever the model has nothing
/// more ready, so no chunk waits, but a burst of twenty deltas costs one send instead of twenty
/// (bench/ANALYSIS.md, "Figures behind the code").
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "A stream of server-sent events, named as the protocol names it.")]
public sealed partial class CompletionStream(
    TurnScope turn, IAsyncEnumerator<TurnEvent> events, Draining.TrackedResponse open, bool started, CompletionIdentity identity, int choices, bool includeUsage,
    AnswerInfo? answer, Draining draining, ILogger logger) : IResult
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private static readonly TimeSpan ErrorEventGrace = TimeSpan.FromMilliseconds(100);

    private string? _systemFingerprint = answer?.SystemFingerprint, _serviceTier = answer?.ServiceTier;

    /// <summary>Tool calls made in the legacy form, by choice and index: their pieces are written as <c>function_call</c>.</summary>
    private HashSet<(int Choice, int Index)>? _legacyCalls;

    /// <summary>
    /// Waits for the model to begin its answer before committing to 200, so a model that fails at once gets a real HTTP
    /// error; but no longer: a model that has begun (its first chunk, a role chunk alone included) and then thinks gets
    /// the caller its headers at once, as voice clients that time out on headers need. What the model said about its
    /// answer (its request id, its fingerprint) goes with them.
    /// </summary>
    public static async Task<IResult> StartAsync(
        HttpContext http, TurnScope turn, Draining.TrackedResponse open, CompletionIdentity identity, int choices, bool includeUsage,
        Draining draining, ILogger logger)
    {
        // The turn began with the stream's own token: read with the same one, nothing more is linked.
        var events = turn.Events.GetAsyncEnumerator(open.Token);
        AnswerInfo? answer = null;
        bool started;
        try
        {
            if ((started = await events.MoveNextAsync()) && events.Current is AnswerInfo info)
                answer = info;
        }
        catch (Exception e)
        {
            await events.DisposeAsync();
            await turn.AbandonAsync();
            open.Dispose();
            if (e is ModelCallException model)
                return ModelErrors.Result(http, model);
            if (draining.WasCut(e))
                return ApiErrors.Create(StatusCodes.Status503ServiceUnavailable, Draining.Error.Message, code: Draining.Error.Code);
            throw;
        }
        return new CompletionStream(turn, events, open, started, identity, choices, includeUsage, answer, draining, logger);
    }

    /// <param name="httpContext">The response, not yet started; <c>events</c> is already at the turn's first event (the model's answer begun, or its first words) when <c>started</c>.</param>
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var http = httpContext;
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.Pragma = "no-cache";
        // Proxies and compression must pass each event on as it comes.
        response.Headers.ContentEncoding = "identity";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var pipe = response.BodyWriter;
        var cancellationToken = http.RequestAborted;
        await using var json = new Utf8JsonWriter(pipe, JsonOptions);
        // Disposed in reverse: the model's events stop first, then a turn that was not ended keeps what its caller was sent.
        using var ___ = open;
        await using var _ = turn;
        await using var __ = events;
        try
        {
            // The model's request id, if it gave one, names this response too.
            if (answer?.RequestId is { } requestId)
                response.Headers[RequestIds.Header] = requestId;
            var more = started;
            var rolesSent = false;
            while (more && events.Current is AnswerInfo info)
            {
                // The model has begun but not yet said what. When its first words are already here, the role chunk
                // goes with them, its shape following their kind (words, refusal, call) as OpenAI's does: one send,
                // not two (bench/ANALYSIS.md, "Headers at once"). When they are not, the headers and a role chunk
                // go now, so a client waiting on either is not kept: shaped as the model opened, for words unless it
                // opened a refusal or a call, so that a client adding up the deltas still ends with null content.
                Write(pipe, json, info);
                // The provider, when named; a chain that may still fall back names it once it has spoken, if the headers have not gone.
                if (info.Provider is { } named && !response.HasStarted)
                    response.Headers[ChatCompletionsApi.ProviderHeader] = named;
                var next = events.MoveNextAsync();
                if (!next.IsCompleted && !response.HasStarted)
                {
                    for (var i = 0; i < choices; i++)
                        WriteChunk(pipe, json, new ChunkChoice(i, RoleDelta(i, answered: false, info.OpensWithoutWords)));
                    rolesSent = true;
                    await response.StartAsync(cancellationToken);
                    await pipe.FlushAsync(cancellationToken);
                }
#pragma warning disable CA2012 // awaited once
                more = await next;
#pragma warning restore CA2012
            }
            for (var i = 0; i < choices && !rolesSent; i++)
                WriteChunk(pipe, json, new ChunkChoice(i, RoleDelta(i, more)));

            while (more)
            {
                Write(pipe, json, events.Current);
                var next = events.MoveNextAsync();
                // The model is still thinking: send what there is.
#pragma warning disable CA2012 // awaited once on either path
                more = next.IsCompleted ? await next : await FlushThenReadAsync(pipe, next, cancellationToken);
#pragma warning restore CA2012
            }

            var usage = await turn.CommitAsync(); // durable before [DONE]: an acknowledged turn is never lost
            if (includeUsage)
                WriteEvent(pipe, json, Chunk([], Usage.Of(usage)), ChatCompletionsJson.Default.ChatCompletionChunk);
            WriteData(pipe, "[DONE]"u8);
            await pipe.FlushAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client has gone: there is no one left to tell, and the turn keeps what it was sent.
        }
        catch (Exception e)
        {
            // Failed as the model's events were read, the turn keeps no reply; failed writing, or cut short by the
            // server's shutdown, it keeps what was generated, unless another caller of the turn is still listening.
            var cut = draining.WasCut(e);
            await turn.AbandonAsync();
            if (e is not ModelCallException && !cut)
                StreamFailed(logger, e);
            WriteEvent(pipe, json, cut ? new ErrorEnvelope(Draining.Error) : ModelErrors.StreamEvent(e), ErrorsJson.Default.ErrorEnvelope);
            await pipe.FlushAsync(CancellationToken.None);
            // Then the connection is broken off, without the chunked encoding's last chunk, so every HTTP client
            // sees a failed response, not only those that read the error event (the .NET SDK would take the
            // stream as complete). Aborting resets the connection at once, which can discard the error event on
            // its way out or unread at the client: it is given a moment to get there first.
            await Task.Delay(ErrorEventGrace, CancellationToken.None);
            http.Abort();
        }
    }

    private void Write(PipeWriter pipe, Utf8JsonWriter json, TurnEvent e)
    {
        switch (e)
        {
            case AnswerInfo info:
                _systemFingerprint ??= info.SystemFingerprint;
                _serviceTier ??= info.ServiceTier;
                break;
            case TextDelta { Logprobs: null } text:
                WriteChunk(pipe, json, new ChunkChoice(text.Choice, new Delta { Content = text.Text }));
                break;
            case TextDelta text:
                WriteChunkWithJson(pipe, json, text.Choice, "content", text.Text.Length > 0 ? text.Text : null, text.Logprobs, null);
                break;
            case RefusalDelta { Logprobs: null } refusal:
                WriteChunk(pipe, json, new ChunkChoice(refusal.Choice, new Delta { Refusal = refusal.Text }));
                break;
            case RefusalDelta refusal:
                WriteChunkWithJson(pipe, json, refusal.Choice, "refusal", refusal.Text, refusal.Logprobs, null);
                break;
            case ToolCallStarted { Legacy: true } call:
                (_legacyCalls ??= []).Add((call.Choice, call.Index));
                WriteChunk(pipe, json, new ChunkChoice(call.Choice, new Delta { FunctionCall = new FunctionCallDelta(call.Name, call.Arguments) }));
                break;
            case ToolCallStarted call:
                WriteChunk(pipe, json, new ChunkChoice(call.Choice, new Delta
                {
                    ToolCalls = [new ToolCallDelta(call.Index, call.Id, "function", new FunctionCallDelta(call.Name, call.Arguments))],
                }));
                break;
            case ToolCallArguments more when _legacyCalls?.Contains((more.Choice, more.Index)) == true:
                WriteChunk(pipe, json, new ChunkChoice(more.Choice, new Delta { FunctionCall = new FunctionCallDelta(null, more.Fragment) }));
                break;
            case ToolCallArguments more:
                WriteChunk(pipe, json, new ChunkChoice(more.Choice, new Delta
                {
                    ToolCalls = [new ToolCallDelta(more.Index, null, null, new FunctionCallDelta(null, more.Fragment))],
                }));
                break;
            case OtherReplyFields fields:
                WriteChunkWithJson(pipe, json, fields.Choice, null, null, null, fields.Fields);
                break;
            case ChoiceFinished finished:
                WriteChunk(pipe, json, new ChunkChoice(finished.Choice, new Delta(), finished.FinishReason));
                break;
        }
    }

    /// <summary>
    /// A choice's first delta, as OpenAI writes it: empty content for a reply in words, none for one that begins with a
    /// tool call or a refusal, so a client that adds up the deltas ends with null content, as the whole answer has.
    /// Sent before the first words are here, it follows how the model opened (<see cref="AnswerInfo.OpensWithoutWords"/>).
    /// </summary>
    private Delta RoleDelta(int choice, bool answered, bool opensWithoutWords = false)
    {
        var wordless = answered
            ? events.Current is RefusalDelta refusal && refusal.Choice == choice || events.Current is ToolCallStarted call && call.Choice == choice
            : opensWithoutWords;
        return wordless ? new Delta { Role = "assistant" } : new Delta { Role = "assistant", Content = "" };
    }

    private void WriteChunk(PipeWriter pipe, Utf8JsonWriter json, ChunkChoice choice) =>
        WriteEvent(pipe, json, Chunk([choice]), ChatCompletionsJson.Default.ChatCompletionChunk);

    private ChatCompletionChunk Chunk(IReadOnlyList<ChunkChoice> choice, Usage? usage = null) =>
        new(identity.Id, identity.Created, identity.Model, choice, usage) { SystemFingerprint = _systemFingerprint, ServiceTier = _serviceTier };

    [LoggerMessage(Level = LogLevel.Error, Message = "A stream failed after it had started")]
    private static partial void StreamFailed(ILogger logger, Exception e);
}
