using System.Diagnostics;
using Microsoft.Extensions.AI;
using Polly;
using Polly.CircuitBreaker;

namespace Junis.Server.Llm;

// One call through a chain: its attempts, each at one provider, and the answer that began to speak.
internal sealed partial class ModelChain
{
    /// <summary>One call through the chain: what every attempt sends, and what the attempts have learnt.</summary>
    private sealed class ChainCall(ModelChain chain, IList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        private Exception? _lastFailure;

        /// <summary>The first provider to begin its answer, with its metadata.</summary>
        public TaskCompletionSource<AnswerMetadata> Begun { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ResilienceContext Context()
        {
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(CallKey, this);
            return context;
        }

        /// <summary>
        /// An agent's own model is its provider's: a fallback is sent the model it is configured with.
        /// </summary>
        private ChatOptions? OptionsFor(int attempt)
        {
            if (attempt == 0 || options?.ModelId is null)
                return options;
            var own = options.Clone();
            own.ModelId = null;
            return own;
        }

        public async ValueTask<Outcome<ChatResponse>> WholeAttemptAsync(int attempt, CancellationToken token)
        {
            var member = chain._members[attempt];
            using var span = FallbackSpan(member, attempt);
            try
            {
                return Outcome.FromResult(await member.Breaker.ExecuteAsync(
                    static ((IList<ChatMessage> Messages, ChainMember Member, ChatOptions? Options) state, CancellationToken token) =>
                        new ValueTask<ChatResponse>(state.Member.Model.GetResponseAsync(state.Messages, state.Options, token)),
                    (messages, member, OptionsFor(attempt)), token));
            }
            catch (Exception e)
            {
                span?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                return Failed<ChatResponse>(member, e);
            }
        }

        public async ValueTask<Outcome<StartedAnswer>> StreamAttemptAsync(int attempt, CancellationToken token)
        {
            var member = chain._members[attempt];
            // Until its first words: the rest of its answer is read beyond the chain.
            using var span = FallbackSpan(member, attempt);
            try
            {
                return Outcome.FromResult(await member.Breaker.ExecuteAsync(
                    static ((ChainCall Call, ChainMember Member, int Attempt) state, CancellationToken token) => state.Call.StartAsync(state.Member, state.Attempt, token),
                    (this, member, attempt), token));
            }
            catch (Exception e)
            {
                span?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                return Failed<StartedAnswer>(member, e);
            }
        }

        /// <summary>Calls one provider and reads its answer up to its first words; the attempt's cancellation closes its call.</summary>
        private async ValueTask<StartedAnswer> StartAsync(ChainMember member, int attempt, CancellationToken attemptToken)
        {
            // The answer outlives the attempt (Polly reuses an attempt's token): it runs on the caller's.
            var own = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var updates = member.Model.GetStreamingResponseAsync(messages, OptionsFor(attempt), own.Token).GetAsyncEnumerator(own.Token);
            var said = new List<ChatResponseUpdate>();
            try
            {
                using (attemptToken.UnsafeRegister(static own => ((CancellationTokenSource)own!).Cancel(), own))
                {
                    while (await updates.MoveNextAsync())
                    {
                        var update = updates.Current;
                        said.Add(update);
                        if (said.Count == 1 && update.Contents.OfType<AnswerMetadata>().FirstOrDefault() is { } metadata)
                        {
                            // Named only if no other provider can overtake it.
                            var named = !chain._hedges || attempt == chain._members.Count - 1;
                            Begun.TrySetResult(Named(metadata, named ? member.Name : null));
                        }
                        if (Speaks(update))
                            break;
                    }
                }
                attemptToken.ThrowIfCancellationRequested();
                return new StartedAnswer(member.Name, said, updates, own);
            }
            catch
            {
                await updates.DisposeAsync();
                own.Dispose();
                throw;
            }
        }

        private static AnswerMetadata Named(AnswerMetadata metadata, string? provider) =>
            new(metadata.RequestId, metadata.SystemFingerprint, metadata.ServiceTier) { Provider = provider, OpensWithoutWords = metadata.OpensWithoutWords };

        private Outcome<T> Failed<T>(ChainMember member, Exception e)
        {
            if (IsProviderFailure(e))
            {
                _lastFailure = e;
                if (e is BrokenCircuitException)
                    Skipped(chain._logger, member.Name);
                else
                    ProviderFailed(chain._logger, member.Name, e.Message);
            }
            return Outcome.FromException<T>(e);
        }

        /// <summary>What the caller is told when no provider answered: the last provider failure, as a model failure.</summary>
        public ModelCallException? Failure(Exception e)
        {
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
                return null;
            var last = _lastFailure ?? e;
            return last switch
            {
                ModelCallException model => model == e ? null : model,
                BrokenCircuitException => new ModelCallException(502, "No model provider is available; retry shortly.", last),
                _ => new ModelCallException(502, "The model call failed.", last),
            };
        }
    }

    /// <summary>A provider's answer that has begun to speak: what it said so far, and the rest to read.</summary>
    private sealed class StartedAnswer(string provider, List<ChatResponseUpdate> said, IAsyncEnumerator<ChatResponseUpdate> rest, CancellationTokenSource own)
        : IAsyncDisposable
    {
        public string Provider => provider;
        public List<ChatResponseUpdate> Said => said;
        public IAsyncEnumerator<ChatResponseUpdate> Rest => rest;

        public async ValueTask DisposeAsync()
        {
            await rest.DisposeAsync();
            own.Dispose();
        }
    }
}
