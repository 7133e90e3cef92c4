using System.ClientModel;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// Turns whatever a provider throws into a <see cref="ModelCallException"/>, so the endpoint answers
/// every model failure the same way. A call cancelled by the caller is left as it is.
/// </summary>
public sealed class ModelFailureTranslation(IChatClient inner, LlmOptions options, ILogger logger) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await base.GetResponseAsync(messages, chatOptions, cancellationToken);
        }
        catch (Exception e) when (Translate(e, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var updates = base.GetStreamingResponseAsync(messages, chatOptions, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            bool more;
            try
            {
                more = await updates.MoveNextAsync();
            }
            catch (Exception e) when (Translate(e, cancellationToken) is { } failure)
            {
                throw failure;
            }
            if (!more) yield break;
            yield return updates.Current;
        }
    }

    private ModelCallException? Translate(Exception e, CancellationToken callerToken)
    {
        if (e is ModelCallException || callerToken.IsCancellationRequested)
            return null;

        var failure = e switch
        {
            // The model's own refusal (context too long, bad parameter) is the caller's to fix: pass its words on.
            ClientResultException { Status: 400 or 413 or 422 } rejected =>
                new ModelCallException(400, ProviderMessage(rejected) ?? $"The model rejected the request (HTTP {rejected.Status}).", e),
            ClientResultException { Status: 401 or 403 } denied =>
                new ModelCallException(502, $"The model provider refused this server's credentials (HTTP {denied.Status}); check Junis:Llm:ApiKey.", e),
            ClientResultException { Status: 404 } missing =>
                new ModelCallException(502, $"The model provider does not know model '{options.Model}' (HTTP 404): {ProviderMessage(missing) ?? "not found"}.", e),
            ClientResultException { Status: 429 } =>
                new ModelCallException(429, "The model provider is rate limiting this server; retry shortly.", e),
            ClientResultException { Status: 408 or 504 } =>
                new ModelCallException(504, "The model provider timed out.", e),
            ClientResultException { Status: > 0 } failed =>
                new ModelCallException(502, $"The model provider failed (HTTP {failed.Status}): {ProviderMessage(failed) ?? "no details"}.", e),
            OperationCanceledException or TimeoutException =>
                new ModelCallException(504, $"The model did not answer within {options.TimeoutSeconds} s.", e),
            HttpRequestException or IOException or ClientResultException =>
                new ModelCallException(502, $"The model provider could not be reached or broke off the connection: {e.Message}", e),
            JsonException or FormatException =>
                new ModelCallException(502, "The model provider sent a response that could not be read.", e),
            _ => new ModelCallException(502, "The model call failed.", e),
        };
        logger.LogWarning(e, "Model call failed: {Status} {Reason}", failure.Status, failure.Message);
        return failure;
    }

    /// <summary>The provider's own <c>error.message</c>, when its body carries one.</summary>
    private static string? ProviderMessage(ClientResultException e)
    {
        try
        {
            var body = e.GetRawResponse()?.Content;
            if (body is null || body.ToMemory().IsEmpty) return null;
            using var json = JsonDocument.Parse(body.ToMemory());
            return json.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("message", out var message)
                && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
