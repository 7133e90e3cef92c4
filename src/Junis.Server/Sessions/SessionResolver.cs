using System.Text.Json;
using Junis.Server.Auth;
using Junis.Server.ChatCompletions;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Sessions;

/// <summary>
/// Finds the session a request belongs to, in this order: the conversation id it names (ElevenLabs'
/// <c>conversation_id</c> or a <c>session_id</c>), a lone message starts a new one, otherwise the hash of the
/// transcript before its new messages; a miss there tries the user turns alone, then starts a new session.
/// At most one or two indexed reads, always within the caller's organization.
/// </summary>
/// <remarks>
/// A reader is rented only for a lookup and returned as soon as the session is found (see <see cref="SessionLookups"/>):
/// a request that starts a conversation never needs one.
/// </remarks>
public sealed class SessionResolver(SessionLookups lookups, IOptions<SessionsOptions> options)
{
    private SessionLookups.Reader? _reader;

    private SessionLookups.Reader Reader => _reader ??= lookups.Rent();

    public Turn Resolve(Caller caller, ChatCompletionRequest request)
    {
        try
        {
            return Find(caller, request);
        }
        catch
        {
            // A connection that failed a lookup is not trusted with another.
            _reader?.Dispose();
            _reader = null;
            throw;
        }
        finally
        {
            if (_reader is not null)
                lookups.Return(_reader);
            _reader = null;
        }
    }

    private Turn Find(Caller caller, ChatCompletionRequest request)
    {
        var view = RequestView.Of(request);
        var conversation = ConversationIdOf(request);
        var userId = request.UserId ?? request.User;

        if (conversation is not null)
        {
            var named = Reader.ByConversation(caller.OrganizationId, conversation);
            if (named is null)
                return view.NewSession(caller, conversation, userId);
            if (view.AllHash.AsSpan().SequenceEqual(named.TurnInputHash) || view.IsRetryOfFailedTurn(named))
                return view.Replay(caller, named, userId, view.HasHistory ? [] : History(named.Id, before: named.LastTurnStart));
            if (view.HasHistory)
                return view.Continue(caller, named.Id, userId);
            return view.ContinueWithHistory(caller, named, userId, History(named.Id, before: int.MaxValue));
        }

        if (view.Transcript.Count <= 1)
            return view.NewSession(caller, conversation: null, userId);

        // The same request again is a replay; otherwise the request continues the session whose transcript it extends.
        var replayed = Reader.ByTurnInput(caller.OrganizationId, view.AllHash);
        if (replayed is not null)
            return view.Replay(caller, replayed, userId, history: []);
        var continued = Reader.ByTranscript(caller.OrganizationId, view.PrefixHash);
        if (continued is { } id)
            return view.Continue(caller, id, userId);

        // Voice clients cut the assistant's words where the caller interrupted, so the exact hash misses;
        // the user turns alone still say which conversation this is, if there are any.
        if (!view.HasUserTurnsBeforeInput)
            return view.NewSession(caller, conversation: null, userId);
        var byUserTurns = Reader.ByUserTurns(caller.OrganizationId, view.PrefixUserTurnsHash);
        return byUserTurns is { } found ? view.Continue(caller, found, userId) : view.NewSession(caller, conversation: null, userId);
    }

    /// <summary>The last <see cref="SessionsOptions.HistoryLimit"/> messages stored before sequence <paramref name="before"/>.</summary>
    private List<ChatMessage> History(Guid sessionId, int before)
    {
        var limit = options.Value.HistoryLimit;
        if (limit == 0)
            return [];
        var stored = Reader.History(sessionId, before, limit);
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
            "function" => new ChatMessage(new ChatRole("function"), message.Content),
            _ => new ChatMessage(ChatRole.User, StoredParts.Parse(message.Parts) ?? [new TextContent(message.Content)]),
        };
        model.AuthorName = message.Name;
        return model;
    }

    public static string? ConversationIdOf(ChatCompletionRequest request)
    {
        if (request.ElevenlabsExtraBody is { ValueKind: JsonValueKind.Object } extra
            && extra.TryGetProperty("conversation_id", out var id) && id.ValueKind == JsonValueKind.String)
        {
            return id.GetString();
        }
        return request.SessionId;
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
        public required byte[] PrefixUserTurnsHash { get; init; }
        public required byte[] AllUserTurnsHash { get; init; }

        public bool HasHistory => InputStart > 0;
        public bool HasUserTurnsBeforeInput => Transcript.Take(InputStart).Any(m => m.Role == "user");
        private List<StoredMessage> Input => Transcript[InputStart..];

        public static RequestView Of(ChatCompletionRequest request)
        {
            var transcript = new List<StoredMessage>(request.Messages!.Count);
            foreach (var m in request.Messages)
            {
                if (m!.Role is not ("system" or "developer"))
                {
                    transcript.Add(new StoredMessage(m.Role!, m.Text, m.ToolCalls?.Select(c =>
                        new ToolCall(c!.Id!, new FunctionCall(c.Function!.Name!, c.Function.Arguments ?? "{}"))).ToList(), m.ToolCallId)
                    {
                        Refusal = m.Refusal,
                        Name = m.Name,
                        Parts = m.Content is { HasMedia: true, Parts: { } parts } ? [.. parts.Select(p => ContentParts.RawPart(p)!.Value)] : null,
                    });
                }
            }
            var inputStart = transcript.FindLastIndex(m => m.Role == "assistant") + 1;

            // One pass over the chain: the hashes before the input are those the session should already hold.
            byte[] all = TranscriptHash.Empty, allUsers = TranscriptHash.Empty, prefix = all, prefixUsers = allUsers;
            for (var i = 0; i < transcript.Count; i++)
            {
                if (i == inputStart)
                    (prefix, prefixUsers) = (all, allUsers);
                var message = transcript[i].Transcript;
                all = TranscriptHash.Extend(all, message);
                if (TranscriptHash.IsUserTurn(message))
                    allUsers = TranscriptHash.Extend(allUsers, message);
            }
            if (inputStart == transcript.Count)
                (prefix, prefixUsers) = (all, allUsers);

            return new RequestView
            {
                Transcript = transcript,
                InputStart = inputStart,
                PrefixHash = prefix,
                AllHash = all,
                PrefixUserTurnsHash = prefixUsers,
                AllUserTurnsHash = allUsers,
            };
        }

        /// <summary>The input again after the session's last turn failed (no reply stored): a retry, not a new turn.</summary>
        public bool IsRetryOfFailedTurn(Session session) =>
            !HasHistory && session.LastReplySequence == 0 && session.MessageCount > 0
            && TranscriptHash.Extend(session.TurnStartHash, Input.Select(m => m.Transcript)).AsSpan().SequenceEqual(session.TurnInputHash);

        public Turn NewSession(Caller caller, string? conversation, string? userId) => new()
        {
            // Named, the id is the name's: racing first requests are all told the id of the session they end up in.
            SessionId = conversation is null ? Ids.TimeOrdered() : Ids.Named(caller.OrganizationId, conversation),
            OrganizationId = caller.OrganizationId,
            ApiKeyId = caller.KeyId,
            Kind = TurnKind.NewSession,
            ConversationId = conversation,
            UserId = userId,
            Input = Transcript,
            StartHash = PrefixHash,
            InputHash = AllHash,
            UserTurnsHash = AllUserTurnsHash,
        };

        public Turn Continue(Caller caller, Guid sessionId, string? userId) => new()
        {
            SessionId = sessionId,
            UserId = userId,
            OrganizationId = caller.OrganizationId,
            ApiKeyId = caller.KeyId,
            Kind = TurnKind.Continue,
            Input = Input,
            StartHash = PrefixHash,
            InputHash = AllHash,
            UserTurnsHash = AllUserTurnsHash,
        };

        public Turn ContinueWithHistory(Caller caller, Session session, string? userId, List<ChatMessage> history)
        {
            var input = Input;
            return new Turn
            {
                SessionId = session.Id,
                UserId = userId,
                OrganizationId = caller.OrganizationId,
                ApiKeyId = caller.KeyId,
                Kind = TurnKind.ContinueWithHistory,
                Input = input,
                History = history,
                StartHash = session.TranscriptHash,
                InputHash = TranscriptHash.Extend(session.TranscriptHash, input.Select(m => m.Transcript)),
                UserTurnsHash = TranscriptHash.Extend(session.UserTurnsHash, input.Select(m => m.Transcript).Where(TranscriptHash.IsUserTurn)),
            };
        }

        public Turn Replay(Caller caller, Session session, string? userId, List<ChatMessage> history) => new()
        {
            History = history,
            UserId = userId,
            SessionId = session.Id,
            OrganizationId = caller.OrganizationId,
            ApiKeyId = caller.KeyId,
            Kind = TurnKind.Replay,
            Input = [],
            StartHash = session.TurnStartHash,
            InputHash = session.TurnInputHash,
            UserTurnsHash = session.UserTurnsHash,
        };
    }
}
