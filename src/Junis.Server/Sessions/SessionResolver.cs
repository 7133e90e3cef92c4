using System.Text.Json;
using Junis.Server.Auth;
using Junis.Server.ChatCompletions;
using Junis.Server.Data;
using Junis.Server.Llm;
using Microsoft.EntityFrameworkCore;
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
/// A database context is leased only for a lookup: a request that starts a conversation never needs one.
/// </remarks>
public sealed class SessionResolver(IDbContextFactory<JunisDb> databases, IOptions<SessionsOptions> options) : IAsyncDisposable
{
    private JunisDb? _db;

    private JunisDb Db => _db ??= databases.CreateDbContext();

    public ValueTask DisposeAsync() => _db?.DisposeAsync() ?? ValueTask.CompletedTask;

    public async Task<Turn> ResolveAsync(Caller caller, ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        var view = RequestView.Of(request);
        var conversation = ConversationIdOf(request);
        var userId = request.UserId ?? request.User;

        if (conversation is not null)
        {
            var named = await ByConversation(Db, caller.OrganizationId, conversation).FirstOrDefaultAsync(cancellationToken);
            if (named is null)
                return view.NewSession(caller, conversation, userId);
            if (view.AllHash.AsSpan().SequenceEqual(named.TurnInputHash) || view.IsRetryOfFailedTurn(named))
                return view.Replay(caller, named, userId, view.HasHistory ? [] : await HistoryAsync(named.Id, before: named.LastTurnStart, cancellationToken));
            if (view.HasHistory)
                return view.Continue(caller, named.Id, userId);
            return view.ContinueWithHistory(caller, named, userId, await HistoryAsync(named.Id, before: int.MaxValue, cancellationToken));
        }

        if (view.Transcript.Count <= 1)
            return view.NewSession(caller, conversation: null, userId);

        // The same request again is a replay; otherwise the request continues the session whose transcript it extends.
        var replayed = await ByTurnInput(Db, caller.OrganizationId, view.AllHash).FirstOrDefaultAsync(cancellationToken);
        if (replayed is not null)
            return view.Replay(caller, replayed, userId, history: []);
        var continued = await ByTranscript(Db, caller.OrganizationId, view.PrefixHash).FirstOrDefaultAsync(cancellationToken);
        if (continued is { } id)
            return view.Continue(caller, id, userId);

        // Voice clients cut the assistant's words where the caller interrupted, so the exact hash misses;
        // the user turns alone still say which conversation this is, if there are any.
        if (!view.HasUserTurnsBeforeInput)
            return view.NewSession(caller, conversation: null, userId);
        var byUserTurns = await ByUserTurns(Db, caller.OrganizationId, view.PrefixUserTurnsHash).FirstOrDefaultAsync(cancellationToken);
        return byUserTurns is { } found ? view.Continue(caller, found, userId) : view.NewSession(caller, conversation: null, userId);
    }

    // The lookups, each served by an index that leads with the organization (see JunisDb). Only conversations the
    // caller did not name are found by their hashes: a named one is found by its name, and only those are indexed by hash.
    internal static IQueryable<Session> ByConversation(JunisDb db, Guid organization, string conversation) =>
        db.Sessions.AsNoTracking()
            .Where(s => s.OrganizationId == organization && (s.ConversationId == conversation || s.Id == AsGuid(conversation)))
            .OrderBy(s => s.CreatedAt);

    internal static IQueryable<Session> ByTurnInput(JunisDb db, Guid organization, byte[] inputHash) =>
        db.Sessions.AsNoTracking()
            .Where(s => s.OrganizationId == organization && s.ConversationId == null && s.TurnInputHash == inputHash)
            .OrderByDescending(s => s.LastUpdateAt);

    internal static IQueryable<Guid?> ByTranscript(JunisDb db, Guid organization, byte[] transcriptHash) =>
        db.Sessions.AsNoTracking()
            .Where(s => s.OrganizationId == organization && s.ConversationId == null && s.TranscriptHash == transcriptHash)
            .OrderByDescending(s => s.LastUpdateAt)
            .Select(s => (Guid?)s.Id);

    internal static IQueryable<Guid?> ByUserTurns(JunisDb db, Guid organization, byte[] userTurnsHash) =>
        db.Sessions.AsNoTracking()
            .Where(s => s.OrganizationId == organization && s.ConversationId == null && s.UserTurnsHash == userTurnsHash)
            .OrderByDescending(s => s.LastUpdateAt)
            .Select(s => (Guid?)s.Id);

    /// <summary>The last <see cref="SessionsOptions.HistoryLimit"/> messages stored before sequence <paramref name="before"/>.</summary>
    private async Task<List<ChatMessage>> HistoryAsync(Guid sessionId, int before, CancellationToken cancellationToken)
    {
        var limit = options.Value.HistoryLimit;
        if (limit == 0)
            return [];
        var stored = await Db.SessionMessages.AsNoTracking()
            .Where(m => m.SessionId == sessionId && m.Sequence < before)
            .OrderByDescending(m => m.Sequence)
            .Take(limit)
            .ToListAsync(cancellationToken);
        stored.Reverse();
        return [.. stored.Select(ToModelMessage)];
    }

    private static ChatMessage ToModelMessage(SessionMessage message) => message.Role switch
    {
        "assistant" => new ChatMessage(ChatRole.Assistant, [
            .. string.IsNullOrEmpty(message.Content) ? Array.Empty<AIContent>() : [new TextContent(message.Content)],
            .. StoredToolCalls.Parse(message.ToolCalls).Select(c => OpenAIChatClient.ToolCall(c.Id, c.Function.Name, c.Function.Arguments))]),
        "tool" => new ChatMessage(ChatRole.Tool, [new FunctionResultContent(message.ToolCallId ?? "", message.Content)]),
        _ => new ChatMessage(ChatRole.User, message.Content),
    };

    public static string? ConversationIdOf(ChatCompletionRequest request)
    {
        if (request.ElevenlabsExtraBody is { ValueKind: JsonValueKind.Object } extra
            && extra.TryGetProperty("conversation_id", out var id) && id.ValueKind == JsonValueKind.String)
        {
            return id.GetString();
        }
        return request.SessionId;
    }

    private static Guid AsGuid(string text) => Guid.TryParse(text, out var id) ? id : Guid.Empty;

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
                    transcript.Add(new StoredMessage(m.Role!, m.Content, m.ToolCalls?.Select(c =>
                        new ToolCall(c!.Id!, new FunctionCall(c.Function!.Name!, c.Function.Arguments ?? "{}"))).ToList(), m.ToolCallId));
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
            SessionId = Ids.TimeOrdered(),
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
