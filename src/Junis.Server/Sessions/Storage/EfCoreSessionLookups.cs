using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Sessions.Storage;

/// <summary>The session lookups through EF Core: the reference, on any provider.</summary>
internal sealed class EfCoreSessionLookups(IDbContextFactory<JunisDb> databases) : ISessionLookups
{
    public async ValueTask<Session?> ByConversationAsync(Guid organization, string conversation)
    {
        var id = Guid.TryParse(conversation, out var parsed) ? parsed : Guid.Empty;
        await using var db = await databases.CreateDbContextAsync();
        return await db.Sessions.AsNoTracking()
            .Where(s => s.OrganizationId == organization && (s.ConversationId == conversation || s.Id == id))
            .OrderBy(s => s.CreatedAt).FirstOrDefaultAsync();
    }

    public async ValueTask<Session?> ByTurnInputAsync(Guid organization, byte[] inputHash)
    {
        await using var db = await databases.CreateDbContextAsync();
        return await Unnamed(db, organization).Where(s => s.TurnInputHash == inputHash).OrderByDescending(s => s.LastUpdateAt).FirstOrDefaultAsync();
    }

    public async ValueTask<Guid?> ByTranscriptAsync(Guid organization, byte[] transcriptHash)
    {
        await using var db = await databases.CreateDbContextAsync();
        return await Unnamed(db, organization).Where(s => s.TranscriptHash == transcriptHash)
            .OrderByDescending(s => s.LastUpdateAt).Select(s => (Guid?)s.Id).FirstOrDefaultAsync();
    }

    public async ValueTask<Session?> UnansweredAsync(Guid organization, Guid apiKey, byte[] transcriptHash, DateTime since)
    {
        await using var db = await databases.CreateDbContextAsync();
        return await Unanswered(db, organization, apiKey, transcriptHash, since).FirstOrDefaultAsync();
    }

    /// <summary>The query of <see cref="UnansweredAsync"/>, newest first, whose plan the tests check on each engine.</summary>
    internal static IQueryable<Session> Unanswered(JunisDb db, Guid organization, Guid apiKey, byte[] transcriptHash, DateTime since) =>
        Unnamed(db, organization)
            .Where(s => s.TranscriptHash == transcriptHash && s.LastUpdateAt >= since && s.LastReplySequence == 0 && s.ApiKeyId == apiKey)
            .OrderByDescending(s => s.LastUpdateAt);

    public async ValueTask<List<LastReply>> LastRepliesAsync(Guid organization, byte[] inputHash, int limit)
    {
        await using var db = await databases.CreateDbContextAsync();
        return await Unnamed(db, organization).Where(s => s.TurnInputHash == inputHash)
            .Join(db.SessionMessages, s => new { SessionId = s.Id, Sequence = s.LastReplySequence }, m => new { m.SessionId, m.Sequence },
                (s, m) => new { s.LastUpdateAt, s.Id, m.Role, m.Sequence, m.Content })
            .Where(r => r.Role == "assistant")
            .OrderByDescending(r => r.LastUpdateAt).ThenByDescending(r => r.Id).Take(limit)
            .Select(r => new LastReply(r.Id, r.Sequence, r.Content)).ToListAsync();
    }

    public async ValueTask<List<SessionMessage>> HistoryAsync(Guid session, int before, int limit)
    {
        await using var db = await databases.CreateDbContextAsync();
        return await db.SessionMessages.AsNoTracking()
            .Where(m => m.SessionId == session && m.Sequence < before)
            .OrderByDescending(m => m.Sequence).Take(limit).ToListAsync();
    }

    private static IQueryable<Session> Unnamed(JunisDb db, Guid organization) =>
        db.Sessions.AsNoTracking().Where(s => s.OrganizationId == organization && s.ConversationId == null);
}
