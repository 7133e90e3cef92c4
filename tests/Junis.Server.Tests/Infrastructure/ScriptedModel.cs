using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>
/// A model that plays a script, for tests about what the server does around a model: each call yields the
/// script's updates, waiting where told, and can fail part way. It records what it was asked and whether the
/// caller cancelled it.
/// </summary>
public sealed class ScriptedModel(Func<IList<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> script) : IChatClient
{
    public List<(IList<ChatMessage> Messages, ChatOptions? Options)> Calls { get; } = [];
    public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static ScriptedModel Replying(params string[] words) => new((_, _, ct) => Words(words, TimeSpan.Zero, ct));

    public static async IAsyncEnumerable<ChatResponseUpdate> Words(
        IEnumerable<string> words, TimeSpan delay, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var word in words)
        {
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, word);
        }
        yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        lock (Calls)
            Calls.Add((list, options));
        Called.TrySetResult();
        using var registration = cancellationToken.Register(() => Cancelled.TrySetResult());
        await foreach (var update in script(list, options, cancellationToken).WithCancellation(cancellationToken))
            yield return update;
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() { }

    /// <summary>Puts this model behind the server in place of the configured one.</summary>
    public Action<IServiceCollection> Install() => services => services.Replace(ServiceDescriptor.Singleton<IChatClient>(this));
}
