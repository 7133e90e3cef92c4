using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// The zero-configuration model: offline and deterministic. It answers "Echo: " followed by the last
/// user message, word by word, and honours the output token limit and stop sequences like a real model.
/// </summary>
public sealed partial class EchoChatClient(TokenCounter tokens, TimeSpan wordDelay) : IChatClient
{
    public const string Prefix = "Echo: ";

    public static string ReplyTo(string? lastUserText) =>
        string.IsNullOrWhiteSpace(lastUserText) ? Prefix + "(no user message)" : Prefix + lastUserText;

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reply = ReplyTo(messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text);
        var finish = ChatFinishReason.Stop;

        foreach (var stop in options?.StopSequences ?? [])
        {
            var at = reply.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0) reply = reply[..at];
        }
        if (options?.MaxOutputTokens is int limit && tokens.Count(reply) > limit)
        {
            reply = tokens.Truncate(reply, limit);
            finish = ChatFinishReason.Length;
        }

        var first = true;
        foreach (Match word in Words().Matches(reply))
        {
            if (!first && wordDelay > TimeSpan.Zero)
                await Task.Delay(wordDelay, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            first = false;
            yield return new ChatResponseUpdate(ChatRole.Assistant, word.Value);
        }
        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = finish };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }

    // A word with the whitespace before it, so that the pieces concatenate back to the reply.
    [GeneratedRegex(@"\s*\S+")]
    private static partial Regex Words();
}
