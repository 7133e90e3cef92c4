using System.Runtime.CompilerServices;

namespace Junis.Server.Orchestration;

/// <summary>Words to say while a slow model thinks, so a voice agent does not fall silent.</summary>
internal static class BufferWords
{
    /// <summary>
    /// The events, with <paramref name="words"/> as the first choice's text when the model's first words (or call, or
    /// refusal) take longer than <paramref name="after"/>; what the model says about its answer before them passes on
    /// at once. <paramref name="said"/> learns that they were said, once.
    /// </summary>
    public static async IAsyncEnumerable<TurnEvent> Before(
        IAsyncEnumerable<TurnEvent> events, string words, TimeSpan after, Action said, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var updates = events.GetAsyncEnumerator(cancellationToken);
        var silence = Task.Delay(after, cancellationToken);
        var spoken = false;
        while (true)
        {
            var next = updates.MoveNextAsync().AsTask();
            if (!spoken && await Task.WhenAny(next, silence) != next)
            {
                spoken = true;
                said();
                yield return new TextDelta(0, words);
            }
            if (!await next)
                yield break;
            yield return updates.Current;
            // The model's answer begun is not yet a word: the silence goes on until one comes.
            if (spoken || updates.Current is not AnswerInfo)
                break;
        }
        while (await updates.MoveNextAsync())
            yield return updates.Current;
    }
}
