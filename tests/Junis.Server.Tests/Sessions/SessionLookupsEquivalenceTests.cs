using Junis.Server.Data;
using Junis.Server.Sessions;
using Junis.Server.Sessions.Sqlite;
using Junis.Server.Sessions.Storage;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// SQLite's prepared lookups find what EF Core's find, over one database: every lookup, with every id, name and hash
/// it holds and some it doesn't, in every organization. The fast path reads only what the resolver needs of a session
/// (its id, hashes and counts) and of a message (what the model is sent), so those are what is compared. And EF Core
/// finds on PostgreSQL what it finds on SQLite, over databases the same requests filled.
/// </summary>
public sealed class SessionLookupsEquivalenceTests
{
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("EfCore")]
    public async Task EveryLookupFindsTheSameOnBothImplementations(string seededBy)
    {
        using var run = new StoreRun(seededBy, new());
        var seeded = await SeedAsync(run);
        var factory = run.App.Services.GetRequiredService<IDbContextFactory<JunisDb>>();
        var sessions = await run.App.QueryAsync(db => db.Sessions.AsNoTracking().ToListAsync());
        Assert.Equal(14, sessions.Count);

        using var fastPath = new SqliteSessionLookups(factory);
        var questions = Questions.About(sessions);
        var reference = await questions.AskAsync(new EfCoreSessionLookups(factory));
        var answers = await questions.AskAsync(fastPath);
        StoreComparison.AssertSameLines(reference, answers);

        // And the reference answers as the resolver expects, so the comparison is over hits as well as misses.
        var efCore = new EfCoreSessionLookups(factory);
        Assert.Equal(seeded.Older, (await efCore.ByConversationAsync(seeded.OrganizationA, seeded.Older.ToString()))!.Id);
        Assert.Equal(seeded.NamedAfterAnId, (await efCore.ByConversationAsync(seeded.OrganizationA, seeded.Newest.ToString()))!.Id);
        Assert.Equal(seeded.Newest, (await efCore.ByTurnInputAsync(seeded.OrganizationA, sessions.Single(s => s.Id == seeded.Newest).TurnInputHash))!.Id);
        Assert.Equal([seeded.Newest, seeded.Middle],
            (await efCore.LastRepliesAsync(seeded.OrganizationA, sessions.Single(s => s.Id == seeded.Newest).TurnInputHash, 16)).Select(r => r.SessionId));
        var failed = sessions.Single(s => s.Id == seeded.Failed);
        Assert.Equal(seeded.Failed, (await efCore.UnansweredAsync(seeded.OrganizationA, failed.ApiKeyId!.Value, failed.TranscriptHash, Questions.LongAgo))!.Id);
        Assert.Null(await efCore.UnansweredAsync(seeded.OrganizationA, failed.ApiKeyId.Value, failed.TranscriptHash, failed.LastUpdateAt.AddMicroseconds(1)));
        Assert.True(answers.Count(a => a.Contains("=> none", StringComparison.Ordinal)) is var misses && misses > 100 && misses < answers.Count - 100,
            "both hits and misses");
    }

    [Fact]
    public async Task EveryLookupFindsTheSameOnPostgreSqlAsOnSqlite()
    {
        var onSqlite = await LabelledAnswersAsync(Engine.Sqlite);
        var onPostgreSql = await LabelledAnswersAsync(Engine.PostgreSql);

        StoreComparison.AssertSameLines(onSqlite, onPostgreSql, "PostgreSQL");
    }

    /// <summary>EF Core's answers over a database seeded on <paramref name="engine"/>, its random ids labelled in order of first appearance.</summary>
    private static async Task<List<string>> LabelledAnswersAsync(Engine engine)
    {
        using var run = new StoreRun("EfCore", new(), engine);
        await SeedAsync(run);
        var sessions = await run.App.QueryAsync(db => db.Sessions.AsNoTracking().ToListAsync());
        var answers = await Questions.About(sessions).AskAsync(new EfCoreSessionLookups(run.App.Services.GetRequiredService<IDbContextFactory<JunisDb>>()));
        return answers.ConvertAll(new StoreRun.Labels().Of);
    }

    private sealed record Seeded(Guid OrganizationA, Guid OrganizationB, Guid Older, Guid Middle, Guid Newest, Guid NamedAfterAnId, Guid Other, Guid Failed);

    /// <summary>
    /// Two organizations; unnamed conversations sharing hashes (the newest must win); named ones, one holding tool calls,
    /// parts and a name, one ended; two sessions named with another session's id, one older than it, one newer; and
    /// first turns that failed ("hi" with no reply): two by the key, the later one newest, one by another key, one named.
    /// </summary>
    private static async Task<Seeded> SeedAsync(StoreRun run)
    {
        var older = await run.SendAsync(new { messages = Conversation(("user", "hi")) });
        await run.SendAsync(new { messages = Conversation(("user", "hi"), ("assistant", older.Text), ("user", "more")) });
        var middle = await run.SendAsync(new { messages = Conversation(("user", "hi")) });
        var newest = await run.SendAsync(new { messages = Conversation(("user", "hi")) });
        await run.SendAsync(new { messages = Conversation(("user", "cut"), ("assistant", "Ec"), ("user", "short")) });
        foreach (var text in new[] { "하나", "둘", "셋" })
            await run.SendAsync(new { messages = Conversation(("user", text)), session_id = "대화" });
        await run.SendAsync(new
        {
            session_id = "tools",
            tools = new[] { new { type = "function", function = new { name = "end_call", parameters = new { type = "object", properties = new { } } } } },
            messages = new object[]
            {
                new { role = "user", name = "alice", content = new object[] { new { type = "image_url", image_url = new { url = "https://example.com/a.png" } }, new { type = "text", text = "Look" } } },
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "look", arguments = "{}" } } } },
                new { role = "tool", tool_call_id = "call_1", content = "A cat." },
                new { role = "user", content = "Thanks, goodbye" },
            },
        });

        var organizationA = await run.App.QueryAsync(db => db.Sessions.Select(s => s.OrganizationId).FirstAsync());
        var other = run.App.CreateAuthorizedClient(await run.App.CreateKeyAsync("other"));
        var (otherSession, _) = await other.TurnAsync(new { messages = Conversation(("user", "hi")) });
        await other.TurnAsync(new { messages = Conversation(("user", "하나")), session_id = "대화" });
        var organizationB = await run.App.QueryAsync(db => db.Sessions.Where(s => s.Id == otherSession).Select(s => s.OrganizationId).SingleAsync());

        // Names that are other sessions' ids: the older of the two wins.
        var namedAfterAnId = Guid.CreateVersion7();
        var failed = Guid.CreateVersion7();
        await run.App.QueryAsync(async db =>
        {
            var times = await db.Sessions.Where(s => s.Id == older.Session || s.Id == newest.Session).ToDictionaryAsync(s => s.Id, s => s.CreatedAt);
            db.Sessions.Add(new Session
            {
                Id = namedAfterAnId, OrganizationId = organizationA, ConversationId = newest.Session.ToString(),
                CreatedAt = times[newest.Session].AddTicks(-1), LastUpdateAt = times[newest.Session], MessageCount = 2, LastTurnStart = 1, LastReplySequence = 2,
            });
            db.SessionMessages.Add(new SessionMessage { SessionId = namedAfterAnId, Sequence = 1, Role = "user", Content = "", Name = "bob", CreatedAt = times[newest.Session] });
            db.SessionMessages.Add(new SessionMessage { SessionId = namedAfterAnId, Sequence = 2, Role = "assistant", Refusal = "No.", CreatedAt = times[newest.Session] });
            db.Sessions.Add(new Session
            {
                Id = Guid.CreateVersion7(), OrganizationId = organizationA, ConversationId = older.Session.ToString().ToUpperInvariant(),
                CreatedAt = times[older.Session].AddSeconds(1), LastUpdateAt = times[older.Session].AddSeconds(1),
            });
            var hi = await db.Sessions.SingleAsync(s => s.Id == older.Session);
            var key = hi.ApiKeyId!.Value;
            foreach (var (id, apiKey, name, at) in new[]
            {
                (failed, key, (string?)null, times[newest.Session].AddSeconds(3)), (Guid.CreateVersion7(), key, null, times[newest.Session].AddSeconds(2)),
                (Guid.CreateVersion7(), Guid.CreateVersion7(), null, times[newest.Session].AddSeconds(4)), (Guid.CreateVersion7(), key, "failed", times[newest.Session].AddSeconds(5)),
            })
            {
                db.Sessions.Add(new Session
                {
                    Id = id, OrganizationId = organizationA, ApiKeyId = apiKey, ConversationId = name, TranscriptHash = hi.TurnInputHash,
                    TurnStartHash = hi.TurnStartHash, TurnInputHash = hi.TurnInputHash,
                    CreatedAt = at, LastUpdateAt = at, MessageCount = 1, LastTurnStart = 1, LastReplySequence = 0,
                });
            }
            return await db.SaveChangesAsync();
        });
        Assert.NotEqual(middle.Session, newest.Session);
        return new Seeded(organizationA, organizationB, older.Session, middle.Session, newest.Session, namedAfterAnId, otherSession, failed);
    }

    /// <summary>Every organization, id, key, name, hash and update time the database holds, and some it doesn't.</summary>
    private sealed record Questions(List<Guid> Organizations, List<Guid> Ids, List<Guid> Keys, string[] Names, byte[][] Hashes, List<DateTime> Times)
    {
        public static readonly DateTime LongAgo = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        public static Questions About(List<Session> sessions)
        {
            // In the order the sessions were made, not of their random ids, so that two databases holding alike are asked alike.
            sessions = [.. sessions.OrderBy(s => s.CreatedAt).ThenBy(s => s.ConversationId, StringComparer.Ordinal)];
            var ids = sessions.Select(s => s.Id).Append(Guid.NewGuid()).ToList();
            return new Questions(
                sessions.Select(s => s.OrganizationId).Distinct().Append(Guid.NewGuid()).ToList(),
                ids,
                sessions.Select(s => s.ApiKeyId).OfType<Guid>().Distinct().Append(Guid.NewGuid()).ToList(),
                [
                    .. sessions.Select(s => s.ConversationId).OfType<string>(),
                    .. ids.SelectMany(id => new[] { id.ToString(), id.ToString().ToUpperInvariant(), id.ToString("N"), $"{{{id}}}" }),
                    "missing", "", " 대화", "대화 ",
                ],
                [
                    .. sessions.SelectMany(s => new[] { s.TranscriptHash, s.TurnStartHash, s.TurnInputHash })
                        .DistinctBy(Convert.ToHexString).OrderBy(Convert.ToHexString, StringComparer.Ordinal),
                    TranscriptHash.Empty, new byte[32], [],
                ],
                // Since long ago, since each failed turn, and a microsecond after it (the finest time PostgreSQL keeps): the bound is inclusive.
                [
                    LongAgo,
                    .. sessions.Where(s => s.LastReplySequence == 0 && s.MessageCount > 0).SelectMany(s => new[] { s.LastUpdateAt, s.LastUpdateAt.AddMicroseconds(1) }),
                ]);
        }

        /// <summary>Every lookup with every value, as lines "question => answer".</summary>
        public async Task<List<string>> AskAsync(ISessionLookups lookups)
        {
            var answers = new List<string>();
            foreach (var organization in Organizations)
            {
                foreach (var name in Names)
                    answers.Add($"ByConversation({organization}, '{name}') => {Show(await lookups.ByConversationAsync(organization, name))}");
                foreach (var hash in Hashes)
                {
                    var hex = Convert.ToHexString(hash);
                    answers.Add($"ByTurnInput({organization}, {hex}) => {Show(await lookups.ByTurnInputAsync(organization, hash))}");
                    answers.Add($"ByTranscript({organization}, {hex}) => {(await lookups.ByTranscriptAsync(organization, hash))?.ToString() ?? "none"}");
                    foreach (var key in Keys)
                    {
                        // Times are named by their place in the list: two engines keep them to different precisions.
                        for (var t = 0; t < Times.Count; t++)
                            answers.Add($"Unanswered({organization}, {key}, {hex}, time {t}) => {Show(await lookups.UnansweredAsync(organization, key, hash, Times[t]))}");
                    }
                    foreach (var limit in new[] { 1, 16 })
                    {
                        var replies = await lookups.LastRepliesAsync(organization, hash, limit);
                        answers.Add($"LastReplies({organization}, {hex}, {limit}) => {(replies.Count == 0 ? "none" : string.Join(" | ", replies))}");
                    }
                }
            }
            foreach (var id in Ids)
            {
                foreach (var before in new[] { 0, 1, 2, 3, 5, 100, int.MaxValue })
                {
                    foreach (var limit in new[] { 0, 1, 2, 20 })
                    {
                        var history = await lookups.HistoryAsync(id, before, limit);
                        answers.Add($"History({id}, {before}, {limit}) => {(history.Count == 0 ? "none" : string.Join(" | ", history.Select(Show)))}");
                    }
                }
            }
            return answers;
        }
    }

    private static string Show(Session? session) => session is null ? "none"
        : $"{session.Id} transcript={Convert.ToHexString(session.TranscriptHash)} start={Convert.ToHexString(session.TurnStartHash)} " +
          $"input={Convert.ToHexString(session.TurnInputHash)} count={session.MessageCount} " +
          $"turnStart={session.LastTurnStart} reply={session.LastReplySequence}";

    private static string Show(SessionMessage m) =>
        $"{m.SessionId} {m.Role} content={Quote(m.Content)} calls={Quote(m.ToolCalls)} callId={Quote(m.ToolCallId)} refusal={Quote(m.Refusal)} name={Quote(m.Name)} parts={Quote(m.Parts)}";

    private static string Quote(string? text) => text is null ? "NULL" : $"'{text}'";
}
