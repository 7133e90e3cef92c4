using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Junis.Server.Sessions.Storage;

/// <summary>
/// The turn store through EF Core: the reference, on any provider. New rows are saved together before the next read or
/// the commit, so a later turn of the same batch reads them, in one round trip for a turn's messages.
/// </summary>
internal sealed class EfCoreTurnStore(IDbContextFactory<JunisDb> databases) : ITurnStore
{
    public async Task<ITurnTransaction> BeginAsync()
    {
        var db = await databases.CreateDbContextAsync();
        try
        {
            return new Transaction(db, await db.Database.BeginTransactionAsync());
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
    }

    public ValueTask ResetAsync() => default;

    private sealed class Transaction(JunisDb db, IDbContextTransaction transaction) : ITurnTransaction
    {
        private bool _unsaved;

        public async ValueTask LockAsync(IReadOnlyList<Guid> sessions)
        {
            // SQLite: the transaction began holding the database's one write lock (BEGIN IMMEDIATE); nothing else can write.
            if (db is PostgresJunisDb)
                await SessionLocks.LockAsync(db, sessions);
        }

        public async ValueTask<StoredSession?> FindAsync(Guid id, Guid organization)
        {
            await SaveAsync();
            return await db.Sessions.Where(s => s.Id == id && s.OrganizationId == organization)
                .Select(s => new StoredSession(s.Id, s.MessageCount, s.LastReplySequence)).FirstOrDefaultAsync();
        }

        public async ValueTask<StoredSession?> FindAsync(Guid organization, string conversation)
        {
            await SaveAsync();
            return await db.Sessions.Where(s => s.OrganizationId == organization && s.ConversationId == conversation)
                .Select(s => new StoredSession(s.Id, s.MessageCount, s.LastReplySequence)).FirstOrDefaultAsync();
        }

        public async ValueTask<(long Prompt, long Completion)> DeleteFromAsync(Guid session, int sequence)
        {
            await SaveAsync();
            var from = db.SessionMessages.Where(m => m.SessionId == session && m.Sequence >= sequence);
            var prompt = await from.SumAsync(m => (long?)m.PromptTokens) ?? 0;
            var completion = await from.SumAsync(m => (long?)m.CompletionTokens) ?? 0;
            await from.ExecuteDeleteAsync();
            return (prompt, completion);
        }

        public ValueTask InsertSessionAsync(Guid id, SessionState state)
        {
            var turn = state.Turn;
            db.Sessions.Add(new Session
            {
                Id = id, OrganizationId = turn.OrganizationId, ApiKeyId = turn.ApiKeyId, ConversationId = turn.ConversationId, UserId = turn.UserId,
                TranscriptHash = state.TranscriptHash, TurnStartHash = turn.StartHash, TurnInputHash = turn.InputHash,
                CreatedAt = state.Now, LastUpdateAt = state.Now, EndedAt = state.EndedAt, MessageCount = state.MessageCount,
                LastTurnStart = Math.Max(state.TurnStart, 1), LastReplySequence = state.ReplySequence,
                PromptTokens = state.PromptTokens, CompletionTokens = state.CompletionTokens,
            });
            _unsaved = true;
            return default;
        }

        public async ValueTask UpdateSessionAsync(Guid id, SessionState state)
        {
            await SaveAsync();
            var turn = state.Turn;
            await db.Sessions.Where(s => s.Id == id).ExecuteUpdateAsync(set => set
                .SetProperty(s => s.UserId, s => turn.UserId ?? s.UserId)
                .SetProperty(s => s.TranscriptHash, state.TranscriptHash)
                .SetProperty(s => s.TurnStartHash, turn.StartHash)
                .SetProperty(s => s.TurnInputHash, turn.InputHash)
                .SetProperty(s => s.LastUpdateAt, state.Now)
                .SetProperty(s => s.EndedAt, state.EndedAt)
                .SetProperty(s => s.MessageCount, state.MessageCount)
                .SetProperty(s => s.LastTurnStart, s => state.TurnStart > 0 ? state.TurnStart : s.LastTurnStart)
                .SetProperty(s => s.LastReplySequence, state.ReplySequence)
                .SetProperty(s => s.PromptTokens, s => s.PromptTokens + state.PromptTokens)
                .SetProperty(s => s.CompletionTokens, s => s.CompletionTokens + state.CompletionTokens));
        }

        public ValueTask InsertMessageAsync(Guid session, int sequence, StoredMessage message, TurnOutcome? outcome, DateTime now)
        {
            db.SessionMessages.Add(new SessionMessage
            {
                SessionId = session, Sequence = sequence, Role = message.Role, Content = message.Content,
                ToolCalls = StoredToolCalls.Serialize(message.ToolCalls), ToolCallId = message.ToolCallId,
                Refusal = message.Refusal, Name = message.Name, Parts = StoredParts.Serialize(message.Parts),
                Agent = message.Agent, AgentSteps = StoredAgentSteps.Serialize(message.AgentSteps), Provider = message.Provider,
                FinishReason = outcome?.FinishReason, PromptTokens = outcome?.Usage?.Prompt, CompletionTokens = outcome?.Usage?.Completion,
                Interrupted = outcome?.Interrupted ?? false, CreatedAt = now,
            });
            _unsaved = true;
            return default;
        }

        public async ValueTask SetHeardAsync(Guid session, int sequence, string heard)
        {
            await SaveAsync();
            await db.SessionMessages.Where(m => m.SessionId == session && m.Sequence == sequence && m.Role == "assistant")
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.HeardContent, heard));
        }

        public async Task CommitAsync()
        {
            await SaveAsync();
            await transaction.CommitAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await db.DisposeAsync();
        }

        private async Task SaveAsync()
        {
            if (!_unsaved)
                return;
            await db.SaveChangesAsync();
            db.ChangeTracker.Clear();
            _unsaved = false;
        }
    }
}
