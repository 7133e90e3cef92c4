using Junis.Server.Llm;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// One turn in progress, from its session found to its reply stored. A surface reads <see cref="Events"/>, then ends
/// the turn in one of two ways: <see cref="CommitAsync"/> right before it answers (the reply is durable when it
/// returns, so an acknowledged turn is never lost), or <see cref="AbandonAsync"/> when it cannot (the input is kept;
/// what was generated for a caller who went away is kept too, marked interrupted). Disposing a turn that was not
/// ended abandons it as a caller's leaving.
/// </summary>
public sealed partial class TurnScope : IAsyncDisposable
{
    private readonly Turn _turn;
    private readonly List<ChatMessage> _input;
    private readonly ChoiceResult[] _choices;
    private readonly TurnServices _services;
    private readonly CancellationToken _cancellationToken;
    private bool _ended;

    internal TurnScope(Turn turn, List<ChatMessage> input, ChoiceResult[] choices, IAsyncEnumerable<TurnEvent> events,
        TurnServices services, CancellationToken cancellationToken)
    {
        (_turn, _input, _choices, Events, _services, _cancellationToken) = (turn, input, choices, events, services, cancellationToken);
        services.Activity.Begin(turn.SessionId, turn.OrganizationId);
    }

    /// <summary>The session the turn belongs to, known before the model is called.</summary>
    public Guid SessionId => _turn.SessionId;

    /// <summary>What the model produces, as it produces it; read once.</summary>
    public IAsyncEnumerable<TurnEvent> Events { get; }

    /// <summary>Stores the turn and returns its usage; the turn is durable when this returns.</summary>
    public async Task<UsageDetails> CommitAsync()
    {
        End();
        try
        {
            var usage = TurnUsage.Of(_services.Tokens, _input, _choices);
            await _services.Writer.WriteAsync(_turn, _choices[0].Outcome(
                new TokenUsage(Clamp(usage.InputTokenCount), Clamp(usage.OutputTokenCount)), _services.KeywordTools));
            return usage;
        }
        finally
        {
            _services.Activity.End(_turn.SessionId, _turn.OrganizationId);
        }
    }

    /// <summary>
    /// Stores a turn that did not finish: its input, and, when the caller went away (<paramref name="failure"/> is null
    /// or its cancellation), whatever reply was generated, marked interrupted. A model that failed leaves no reply.
    /// </summary>
    public async Task AbandonAsync(Exception? failure = null)
    {
        if (_ended)
            return;
        End();
        var interrupted = failure is null or ModelCallException { AnswerCut: true } || (failure is OperationCanceledException && _cancellationToken.IsCancellationRequested);
        var choice = _choices[0];
        try
        {
            await _services.Writer.WriteAsync(_turn, interrupted && choice.HasOutput
                ? choice.Outcome(new TokenUsage(0, _services.Tokens.Count(choice.Reply)), _services.KeywordTools) with { Interrupted = true }
                : TurnOutcome.Failed);
        }
        catch (Exception e)
        {
            NotStored(_services.Logger, e, _turn.SessionId);
        }
        finally
        {
            _services.Activity.End(_turn.SessionId, _turn.OrganizationId);
        }
    }

    /// <summary>A message's count, as its column holds it.</summary>
    private static int Clamp(long? tokens) => (int)Math.Min(tokens ?? 0, int.MaxValue);

    public async ValueTask DisposeAsync() => await AbandonAsync();

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing the unfinished turn of session {SessionId} failed")]
    private static partial void NotStored(ILogger logger, Exception e, Guid sessionId);

    private void End()
    {
        if (_ended)
            throw new InvalidOperationException("The turn has already ended.");
        _ended = true;
    }
}

/// <summary>What ending a turn needs, shared by every turn.</summary>
internal sealed record TurnServices(TokenCounter Tokens, TurnWriter Writer, SessionActivity Activity, KeywordTools KeywordTools, ILogger Logger);
