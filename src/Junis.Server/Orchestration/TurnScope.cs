using System.Diagnostics;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Junis.Server.Telemetry;
using Junis.Server.Usage;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// One request's part in a turn, from its session found to its reply stored. The turn may be heard by more than one
/// request (a client's retry joins the turn still being generated: <see cref="RunningTurn"/>), each with its own
/// scope. A surface reads <see cref="Events"/>, then ends its part in one of two ways: <see cref="CommitAsync"/> right
/// before it answers (the reply is durable when it returns, so an acknowledged turn is never lost), or
/// <see cref="AbandonAsync"/> when it cannot. The turn's input is always kept; a model that failed leaves no reply;
/// what was generated for callers who all went away is kept too, marked interrupted. Disposing a scope that was not
/// ended abandons it as a caller's leaving.
/// </summary>
public sealed class TurnScope : IAsyncDisposable, IModelTimed
{
    private readonly RunningTurn _turn;
    private readonly bool _begun;
    private readonly CancellationTokenRegistration _leaving;
    private int _left;
    private bool _ended;

    /// <param name="turn">The turn, begun or joined.</param>
    /// <param name="begun">Whether this caller began the turn, rather than joined it.</param>
    /// <param name="cancellationToken">The caller's: when it is cancelled the caller has gone, and the last to go stops the model.</param>
    internal TurnScope(RunningTurn turn, bool begun, CancellationToken cancellationToken)
    {
        (_turn, _begun) = (turn, begun);
        Events = new Reader(turn);
        _leaving = cancellationToken.UnsafeRegister(static scope => ((TurnScope)scope!).Leave(), this);
    }

    /// <summary>The session the turn belongs to, known before the model is called.</summary>
    public Guid SessionId => _turn.Turn.SessionId;

    /// <summary>The turn's span, when spans are kept: the parent of its model calls, for the caller that began it.</summary>
    public Activity? Span => _begun ? _turn.Span : null;

    /// <summary>How long the model took, for the caller that began the turn, once it has finished.</summary>
    public TimeSpan? ModelTime => _begun ? _turn.ModelTime : null;

    /// <summary>What the model produces, from its first event, as it produces it; read once.</summary>
    public IAsyncEnumerable<TurnEvent> Events { get; }

    /// <summary>Stores the turn (once, whoever commits first) and returns its usage; the turn is durable when this returns.</summary>
    public async Task<UsageDetails> CommitAsync()
    {
        End();
        try
        {
            return await _turn.CommitAsync();
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>Ends this caller's part without an answer; the turn is stored as <see cref="RunningTurn.AbandonAsync"/> says.</summary>
    public async Task AbandonAsync()
    {
        if (_ended)
            return;
        End();
        Leave();
        await _turn.AbandonAsync();
    }

    public async ValueTask DisposeAsync() => await AbandonAsync();

    private void Leave()
    {
        if (Interlocked.Exchange(ref _left, 1) == 0)
            _turn.Leave();
    }

    private void End()
    {
        if (_ended)
            throw new InvalidOperationException("The turn has already ended.");
        _ended = true;
        _leaving.Dispose();
    }

    /// <summary>The turn's events for one caller: its own place in them, and its own token to wait with.</summary>
    private sealed class Reader(RunningTurn turn) : IAsyncEnumerable<TurnEvent>, IAsyncEnumerator<TurnEvent>
    {
        private int _next;
        private CancellationToken _cancellationToken;

        public TurnEvent Current { get; private set; } = null!;

        public IAsyncEnumerator<TurnEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            _cancellationToken = cancellationToken;
            return this;
        }

        public ValueTask<bool> MoveNextAsync()
        {
            var next = turn.NextAsync(_next, _cancellationToken);
            return next.IsCompletedSuccessfully ? new(Took(next.Result)) : AwaitAsync(next);
        }

        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> AwaitAsync(ValueTask<TurnEvent?> next) => Took(await next);

        private bool Took(TurnEvent? e)
        {
            if (e is null)
                return false;
            Current = e;
            _next++;
            return true;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>What ending a turn needs, shared by every turn.</summary>
internal sealed record TurnServices(
    TokenCounter Tokens, TurnWriter Writer, SessionActivity Activity, KeywordTools KeywordTools, UsageLedger Usage, ServerMetrics Metrics, ILogger Logger);
