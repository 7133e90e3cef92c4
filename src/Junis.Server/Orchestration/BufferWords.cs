using System.Runtime.CompilerServices;

namespace Junis.Server.Orchestration;

/// <summary>Words to say while a slow model thinks, so a voice agent does not fall silent.</summary>
internal static class BufferWords
{
    /// <summary>
    /// The events, preceded by <paramref name="words"/> as the first choice's text when the first event takes longer
    /// than <paramref name="after"/>; <paramref name="said"/> learns that they were said, once.
    /// </summary>
    public static async IAsyncEnumerable<TurnEvent> Before(
        IAsyncEnumerable<TurnEvent> events, string words, TimeSpan after, Action said, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var updates = events.GetAsyncEnumerator(cancellationToken);
        var first = updates.MoveNextAsync().AsTask();
        if (await Task.WhenAny(first, Task.Delay(after, cancellationToken)) != first)
        {
            said();
            yield return new TextDelta(0, words);
        }
        if (!await first)
            yield break;
        yield return updates.Current;
        while (await updates.MoveNextAsync())
            yield return updates.Current;
    }
}
