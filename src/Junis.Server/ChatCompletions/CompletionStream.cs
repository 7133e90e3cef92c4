using System.Runtime.CompilerServices;
using System.Text.Json;
using Junis.Server.Errors;
using Junis.Server.Llm;
using Junis.Server.Orchestration;

namespace Junis.Server.ChatCompletions;

/// <summary>The identity every chunk or completion of one response shares.</summary>
public sealed record CompletionIdentity(string Id, long Created, string Model)
{
    public static CompletionIdentity New(string model, TimeProvider clock) =>
        new($"chatcmpl-{Guid.NewGuid():N}", clock.GetUtcNow().ToUnixTimeSeconds(), model);
}

/// <summary>
/// Writes turn events as server-sent events: a role chunk first for each choice, each event as a chunk
/// the moment it happens, a finish chunk per choice, the usage chunk when asked, then <c>[DONE]</c>.
/// A failure after the first byte sends one error event and no <c>[DONE]</c>, so a cut stream never looks complete.
/// </summary>
public static class CompletionStream
{
    public const string Done = "[DONE]";

    /// <param name="events">Already moved to its first event, so that failures before any output could still become an HTTP error.</param>
    public static async IAsyncEnumerable<string> WriteAsync(
        IAsyncEnumerator<TurnEvent> events, CompletionIdentity identity, int choices, bool includeUsage, ILogger logger,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var _ = events;
        for (var i = 0; i < choices; i++)
            yield return Chunk(identity, new ChunkChoice(i, new Delta(Role: "assistant", Content: "")));

        while (true)
        {
            if (ToChunk(events.Current, identity, includeUsage) is { } chunk)
                yield return chunk;
            if (events.Current is TurnFinished)
                break;

            ErrorEnvelope? failure = null;
            try
            {
                if (!await events.MoveNextAsync())
                    break;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client has gone: there is no one left to tell, and the turn keeps what it was sent.
                yield break;
            }
            catch (Exception e)
            {
                failure = ErrorOf(e, logger);
            }
            if (failure is not null)
            {
                yield return JsonSerializer.Serialize(failure, WireJson.Wire.ErrorEnvelope);
                yield break;
            }
        }
        yield return Done;
    }

    private static string? ToChunk(TurnEvent e, CompletionIdentity identity, bool includeUsage) => e switch
    {
        TextDelta text => Chunk(identity, new ChunkChoice(text.Choice, new Delta(Content: text.Text))),
        ToolCallStarted call => Chunk(identity, new ChunkChoice(call.Choice, new Delta(ToolCalls:
            [new ToolCallDelta(call.Index, call.Id, "function", new FunctionCallDelta(call.Name, call.Arguments))]))),
        ToolCallArguments more => Chunk(identity, new ChunkChoice(more.Choice, new Delta(ToolCalls:
            [new ToolCallDelta(more.Index, null, null, new FunctionCallDelta(null, more.Fragment))]))),
        ChoiceFinished finished => Chunk(identity, new ChunkChoice(finished.Choice, new Delta(), finished.FinishReason)),
        TurnFinished turn when includeUsage => JsonSerializer.Serialize(
            new ChatCompletionChunk(identity.Id, identity.Created, identity.Model, [], turn.Usage), WireJson.Wire.ChatCompletionChunk),
        _ => null,
    };

    private static string Chunk(CompletionIdentity identity, ChunkChoice choice) =>
        JsonSerializer.Serialize(new ChatCompletionChunk(identity.Id, identity.Created, identity.Model, [choice]), WireJson.Wire.ChatCompletionChunk);

    private static ErrorEnvelope ErrorOf(Exception e, ILogger logger)
    {
        if (e is not ModelCallException)
            logger.LogError(e, "A stream failed after it had started");
        var (status, message) = e is ModelCallException model ? (model.Status, model.Message) : (500, "The stream failed.");
        return new ErrorEnvelope(new ErrorBody(message, ErrorTypes.ForStatus(status), null, status == 504 ? "timeout" : "stream_error"));
    }
}
