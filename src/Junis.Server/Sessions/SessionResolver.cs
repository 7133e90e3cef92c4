using Junis.Server.Llm;
using Junis.Server.Sessions.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Sessions;

/// <summary>
/// Finds the session a turn belongs to, in this order: the conversation id its caller names; a lone message starts
/// a new one, unless it is the same key sending again a lone message whose turn has just failed; otherwise the hash of
/// the transcript before its new messages; a miss there tries an interruption (the request's last assistant message cut
/// short of a session's last reply), then starts a new session. Never the user turns alone: callers of unrelated
/// conversations say the same things ("hello", "yes"). At most three indexed reads, always within the caller's organization.
/// </summary>
public sealed class SessionResolver(ISessionLookups lookups, FailedTurns failedTurns, IOptions<SessionsOptions> options, TimeProvider clock)
{
    /// <summary>
    /// How recently a lone message's turn must have failed for the same message from the same key to be its retry. Clients
    /// retry within seconds (the OpenAI SDKs back off from half a second to a few seconds, longer only when told to;
    /// ElevenLabs at once): two minutes covers them with room to spare, and is short enough that the same words from
    /// the same key much later are a new conversation.
    /// </summary>
    public static readonly TimeSpan RetryWindow = TimeSpan.FromMinutes(2);

    /// <param name="owner">Who asks, and the conversation's name if the caller gave one.</param>
    /// <param name="messages">The conversation as the caller sent it, instructions (system, developer) included.</param>
    public async ValueTask<Turn> ResolveAsync(TurnOwner owner, IReadOnlyList<ChatMessage> messages)
    {
        var view = RequestView.Of(messages);
        var conversation = owner.ConversationId;
        var userId = owner.UserId;

        if (conversation is not null)
        {
            var named = await lookups.ByConversationAsync(owner.OrganizationId, conversation);
            if (named is null)
                return view.NewSession(owner, conversation, userId);
            if (view.AllHash.AsSpan().SequenceEqual(named.TurnInputHash) || view.IsRetryOfFailedTurn(named))
                return RequestView.Replay(owner, named, userId, view.HasHistory ? [] : await HistoryAsync(named.Id, before: named.LastTurnStart));
            if (view.HasHistory)
                return view.Continue(owner, named.Id, userId);
            return view.ContinueWithHistory(owner, named, userId, await HistoryAsync(named.Id, before: int.MaxValue));
        }

        if (view.Transcript.Count <= 1)
        {
            // A client retrying a first turn that failed (the model's 5xx) sends the same lone message again: it continues
            // the session that attempt left holding only that message, as a replay. Only one its own key made, never one
            // that got a reply: two callers saying "hello" stay two sessions.
            var since = clock.GetUtcNow().UtcDateTime - RetryWindow;
            if (view.Transcript.Count == 1 && failedTurns.MayHave(owner.OrganizationId, owner.ApiKeyId, view.AllHash, since)
                && await lookups.UnansweredAsync(owner.OrganizationId, owner.ApiKeyId, view.AllHash, since) is { } failed)
            {
                return RequestView.Replay(owner, failed, userId, history: []);
            }
            return view.NewSession(owner, conversation: null, userId);
        }

        // The same request again is a replay; otherwise the request continues the session whose transcript it extends.
        var replayed = await lookups.ByTurnInputAsync(owner.OrganizationId, view.AllHash);
        if (replayed is not null)
            return RequestView.Replay(owner, replayed, userId, history: []);
        var continued = await lookups.ByTranscriptAsync(owner.OrganizationId, view.PrefixHash);
        if (continued is { } id)
            return view.Continue(owner, id, userId);

        // Voice clients cut the assistant's words where the caller interrupted, so the exact hash misses: the session is the
        // one whose last reply was cut, found by the exact transcript before that reply and the cut text being its start.
        if (view.Interruption is { } cut)
        {
            var replies = await lookups.LastRepliesAsync(owner.OrganizationId, cut.BeforeHash, MaxInterruptionCandidates);
            var heard = Normalized(cut.Message.Content);
            foreach (var reply in replies)
            {
                if (Normalized(reply.Content).StartsWith(heard, StringComparison.Ordinal))
                    return view.Continue(owner, reply.SessionId, userId, new HeardReply(reply.Sequence, cut.Message.Content ?? ""));
            }
        }
        return view.NewSession(owner, conversation: null, userId);
    }

    /// <summary>
    /// Sessions whose transcript before their last reply is the same (a common greeting, say) compete for an interruption:
    /// the newest whose reply the cut text starts wins; this many are read, enough for sessions that start alike at once.
    /// </summary>
    private const int MaxInterruptionCandidates = 16;

    /// <summary>Whitespace collapsed to one space and trimmed: clients re-space the words they send back.</summary>
    private static string Normalized(string? text) =>
        string.Join(' ', (text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The last <see cref="SessionsOptions.HistoryLimit"/> messages stored before sequence <paramref name="before"/>.</summary>
    private async ValueTask<List<ChatMessage>> HistoryAsync(Guid sessionId, int before)
    {
        var limit = options.Value.HistoryLimit;
        if (limit == 0)
            return [];
        var stored = await lookups.HistoryAsync(sessionId, before, limit);
        stored.Reverse();
        return [.. stored.Select(ToModelMessage)];
    }

    private static ChatMessage ToModelMessage(SessionMessage message)
    {
        var model = message.Role switch
        {
            "assistant" => new ChatMessage(ChatRole.Assistant, [
                .. string.IsNullOrEmpty(message.Content) ? Array.Empty<AIContent>() : [new TextContent(message.Content)],
                .. message.Refusal is { } refusal ? [new RefusalContent(refusal)] : Array.Empty<AIContent>(),
                .. StoredToolCalls.Parse(message.ToolCalls).Select(c => ContentParts.ToolCall(c.Id, c.Function.Name, c.Function.Arguments))]),
            "tool" => new ChatMessage(ChatRole.Tool, [new FunctionResultContent(message.ToolCallId ?? "", message.Content)]),
            "function" => new ChatMessage(Roles.Function, message.Content),
            _ => new ChatMessage(ChatRole.User, StoredParts.Parse(message.Parts) ?? [new TextContent(message.Content)]),
        };
        model.AuthorName = message.Name;
        return model;
    }

    /// <summary>
    /// The request as the transcript sees it: its non-system messages, split into what the session should already
    /// hold (up to and including the last assistant message) and the new input after it, with their hashes.
    /// </summary>
    private sealed class RequestView
    {
        public required List<StoredMessage> Transcript { get; init; }
        public required int InputStart { get; init; }
        public required byte[] PrefixHash { get; init; }
        public required byte[] AllHash { get; init; }

        /// <summary>The request's last assistant message, which may be a stored reply cut short, and the hash of what came before it.</summary>
        public Cut? Interruption { get; init; }

        public bool HasHistory => InputStart > 0;
        private List<StoredMessage> Input => Transcript[InputStart..];

        public static RequestView Of(IReadOnlyList<ChatMessage> messages)
        {
            var transcript = new List<StoredMessage>(messages.Count);
            foreach (var message in messages)
            {
                if (message.Role.Value is not ("system" or "developer"))
                    transcript.Add(StoredMessage.Of(message));
            }
            var inputStart = transcript.FindLastIndex(m => m.Role == "assistant") + 1;

            // One pass over the chain: the hashes before the input are those the session should already hold.
            byte[] all = TranscriptHash.Empty, prefix = all, beforeLastAssistant = all;
            for (var i = 0; i < transcript.Count; i++)
            {
                if (i == inputStart - 1)
                    beforeLastAssistant = all;
                if (i == inputStart)
                    prefix = all;
                all = TranscriptHash.Extend(all, transcript[i].Transcript);
            }
            if (inputStart == transcript.Count)
                prefix = all;

            // Only text can be cut where the caller stopped hearing it, and only new words after it tell of an interruption.
            var last = inputStart > 0 ? transcript[inputStart - 1] : null;
            var interruption = last is { ToolCalls: null or { Count: 0 }, Refusal: null } && inputStart < transcript.Count
                ? new Cut(last, beforeLastAssistant) : null;

            return new RequestView
            {
                Transcript = transcript,
                InputStart = inputStart,
                PrefixHash = prefix,
                AllHash = all,
                Interruption = interruption,
            };
        }

        /// <summary>The input again after the session's last turn failed (no reply stored): a retry, not a new turn.</summary>
        public bool IsRetryOfFailedTurn(Session session) =>
            !HasHistory && session.LastReplySequence == 0 && session.MessageCount > 0
            && TranscriptHash.Extend(session.TurnStartHash, Input.Select(m => m.Transcript)).AsSpan().SequenceEqual(session.TurnInputHash);

        public Turn NewSession(TurnOwner owner, string? conversation, string? userId) => new()
        {
            // Named, the id is the name's: racing first requests are all told the id of the session they end up in.
            SessionId = conversation is null ? Ids.TimeOrdered() : Ids.Named(owner.OrganizationId, conversation),
            OrganizationId = owner.OrganizationId,
            ApiKeyId = owner.ApiKeyId,
            Kind = TurnKind.NewSession,
            ConversationId = conversation,
            UserId = userId,
            Input = Transcript,
            StartHash = PrefixHash,
            InputHash = AllHash,
        };

        public Turn Continue(TurnOwner owner, Guid sessionId, string? userId, HeardReply? heard = null) => new()
        {
            Heard = heard,
            SessionId = sessionId,
            UserId = userId,
            OrganizationId = owner.OrganizationId,
            ApiKeyId = owner.ApiKeyId,
            Kind = TurnKind.Continue,
            Input = Input,
            StartHash = PrefixHash,
            InputHash = AllHash,
        };

        public Turn ContinueWithHistory(TurnOwner owner, Session session, string? userId, List<ChatMessage> history)
        {
            var input = Input;
            return new Turn
            {
                SessionId = session.Id,
                UserId = userId,
                OrganizationId = owner.OrganizationId,
                ApiKeyId = owner.ApiKeyId,
                Kind = TurnKind.ContinueWithHistory,
                Input = input,
                History = history,
                StartHash = session.TranscriptHash,
                InputHash = TranscriptHash.Extend(session.TranscriptHash, input.Select(m => m.Transcript)),
            };
        }

        public sealed record Cut(StoredMessage Message, byte[] BeforeHash);

        public static Turn Replay(TurnOwner owner, Session session, string? userId, List<ChatMessage> history) => new()
        {
            History = history,
            UserId = userId,
            SessionId = session.Id,
            OrganizationId = owner.OrganizationId,
            ApiKeyId = owner.ApiKeyId,
            Kind = TurnKind.Replay,
            Input = [],
            StartHash = session.TurnStartHash,
            InputHash = session.TurnInputHash,
        };
    }
}
