using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Junis.Server.Llm;
using Junis.Server.Sessions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// One turn's generation, heard by every request that is that turn (<see cref="RunningTurns"/>): the first, and any
/// retry of it while it runs. The model's events are recorded as they come and each listener reads them from the
/// start; whichever needs the next one and finds it not yet recorded pulls it from the model, one pull at a time, the
/// others waiting for that pull. A lone listener so reads the model almost directly: no task pumps the events, no
/// thread hands them over. The model call runs on the turn's own token, cancelled the moment the last listener has
/// gone. The turn is stored once: by the first listener to commit (the others await that commit); as failed when the
/// model failed; with what was generated, marked interrupted, when every listener went away before committing.
/// </summary>
internal sealed partial class RunningTurn(
    Turn turn, List<ChatMessage> input, ChoiceResult[] choices, TurnServices services, RunningTurns registry, TurnKey key, long begunAt, Activity? span)
    : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<TurnEvent> _events = [];
    private readonly CancellationTokenSource _generation = new();
    private IAsyncEnumerator<TurnEvent> _source = null!;
    private int _listeners = 1;

    /// <summary>A pull from the model is in flight; those waiting for it, once one waits.</summary>
    private bool _pulling;
    private TaskCompletionSource? _pulled;

    /// <summary>No more pulls: the model finished (<see cref="_completed"/>), failed (<see cref="_failure"/>), or was stopped.</summary>
    private bool _ended, _completed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Every listener has gone: nobody may join any more.</summary>
    private bool _closed;

    /// <summary>The turn's one write, once begun.</summary>
    private Task<UsageDetails>? _stored;

    /// <summary>When the model was first pulled from, and when its answer ended (<see cref="Stopwatch.GetTimestamp"/>); 0 until then.</summary>
    private long _modelStartedAt, _modelEndedAt;

    public Turn Turn => turn;

    /// <summary>The turn's span, ended once the turn is stored; null when spans are not kept.</summary>
    public Activity? Span => span;

    /// <summary>From the model's first pull to its answer's end, once it has ended.</summary>
    public TimeSpan? ModelTime
    {
        get
        {
            lock (_gate)
                return _modelEndedAt == 0 ? null : Stopwatch.GetElapsedTime(_modelStartedAt, _modelEndedAt);
        }
    }

    /// <summary>The token the model is called with.</summary>
    public CancellationToken Token => _generation.Token;

    /// <summary>The model's events, read on <see cref="Token"/> once a listener needs them.</summary>
    public void Generate(IAsyncEnumerable<TurnEvent> events) => _source = events.GetAsyncEnumerator(_generation.Token);

    /// <summary>This turn, now findable by its key: it counts as the session's turn in progress.</summary>
    public RunningTurn Registered()
    {
        services.Activity.Begin(turn.SessionId, turn.OrganizationId);
        return this;
    }

    /// <summary>One more listener, unless every listener has gone or the model has failed (a retry then calls it anew).</summary>
    public bool TryJoin()
    {
        lock (_gate)
        {
            if (_closed || _failure is not null)
                return false;
            _listeners++;
            return true;
        }
    }

    /// <summary>A listener has gone. The last to go before the turn is stored stops the model at once.</summary>
    public void Leave()
    {
        bool stop;
        lock (_gate)
        {
            _closed = --_listeners == 0;
            stop = _closed && _stored is null;
        }
        if (!stop)
            return;
        try
        {
            _generation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // stored meanwhile
        }
    }

    /// <summary>The event at <paramref name="index"/>, null after the last: recorded, else pulled from the model, else waited for.</summary>
    public ValueTask<TurnEvent?> NextAsync(int index, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource? wait = null;
            lock (_gate)
            {
                if (index < _events.Count)
                    return new(_events[index]);
                if (_completed)
                    return new((TurnEvent?)null);
                _failure?.Throw();
                if (_ended || _closed)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    throw new OperationCanceledException("Every caller of the turn has gone.");
                }
                if (_pulling)
                {
                    wait = _pulled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                else
                {
                    _pulling = true;
                    if (_modelStartedAt == 0)
                        _modelStartedAt = Stopwatch.GetTimestamp();
                }
            }
            if (wait is not null)
                return WaitThenNextAsync(wait.Task, index, cancellationToken);

            ValueTask<bool> next;
            try
            {
                next = _source.MoveNextAsync();
            }
            catch (Exception e)
            {
                Pulled(false, e);
                continue;
            }
            if (!next.IsCompleted)
                return PullThenNextAsync(next, index, cancellationToken);
#pragma warning disable CA2012 // completed: read once, here
            Pulled(next);
#pragma warning restore CA2012
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // no allocation per wait for the model
    private async ValueTask<TurnEvent?> PullThenNextAsync(ValueTask<bool> next, int index, CancellationToken cancellationToken)
    {
        bool more;
        try
        {
            more = await next;
        }
        catch (Exception e)
        {
            Pulled(false, e);
            return await NextAsync(index, cancellationToken);
        }
        Pulled(more, null);
        return await NextAsync(index, cancellationToken);
    }

    private async ValueTask<TurnEvent?> WaitThenNextAsync(Task pulled, int index, CancellationToken cancellationToken)
    {
        await pulled.WaitAsync(cancellationToken);
        return await NextAsync(index, cancellationToken);
    }

    private void Pulled(ValueTask<bool> completed)
    {
        bool more;
        Exception? failure = null;
        try
        {
            more = completed.Result;
        }
        catch (Exception e)
        {
            (more, failure) = (false, e);
        }
        Pulled(more, failure);
    }

    /// <summary>Records what a pull brought: the next event, or the end; wakes whoever waited for it.</summary>
    private void Pulled(bool more, Exception? failure)
    {
        TaskCompletionSource? waiting;
        lock (_gate)
        {
            if (more)
            {
                _events.Add(_source.Current);
            }
            else
            {
                _ended = true;
                _modelEndedAt = Stopwatch.GetTimestamp();
                _completed = failure is null;
                // A failure after the turn was stopped is the stopping, not the model's.
                if (failure is not null && !_generation.IsCancellationRequested)
                    _failure = ExceptionDispatchInfo.Capture(failure);
            }
            _pulling = false;
            (waiting, _pulled) = (_pulled, null);
        }
        waiting?.SetResult();
    }
}
