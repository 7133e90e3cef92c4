using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Junis.Server.Data;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Junis.Server.Tests.Sessions;

/// <summary>How a server of a comparison is set up: its settings, its model (a fresh one for each store), whether it listens on a socket.</summary>
public sealed record StoreSetup(Dictionary<string, string?>? Settings = null, Func<ScriptedModel>? Model = null, bool OverSockets = false);

/// <summary>
/// One server storing sessions through one store, on one engine, driven step by step. Every step sets the clock to the
/// step's own time (whole seconds, halves, seven digits of fraction…), so what two stores write for the same steps can
/// be compared to the tick and in EF Core's exact text. What the caller saw and what the database holds are read back
/// with every random id (sessions, organizations, keys, tool calls) replaced by a label given in order of first
/// appearance, the id's case kept in the label. On PostgreSQL (where every store is EF Core) the rows are written as
/// SQLite would hold them, so that the two engines can be compared line by line.
/// </summary>
public sealed partial class StoreRun : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 14, 5, 9, TimeSpan.Zero);
    private static readonly long[] Fractions = [0, 5_000_000, 1_234_567, 1_200_000, 1];
    private int _step;

    public StoreRun(string store, StoreSetup setup, Engine engine = Engine.Sqlite)
    {
        Model = setup.Model?.Invoke();
        App = new JunisApp(new(setup.Settings ?? []) { ["Junis:Data:Store"] = store }, services =>
        {
            services.Replace(ServiceDescriptor.Singleton<TimeProvider>(Clock));
            Model?.Install()(services);
        }, engine);
        if (setup.OverSockets)
        {
            App.UseKestrel();
            App.StartServer();
        }
        Client = App.CreateAuthorizedClient();
    }

    public JunisApp App { get; }
    public HttpClient Client { get; }
    public ScriptedModel? Model { get; }
    public FakeTimeProvider Clock { get; } = new(Start);

    /// <summary>What the caller saw, step by step, ids as sent.</summary>
    public List<string> Seen { get; } = [];

    public void Tick() => Clock.SetUtcNow(Start + TimeSpan.FromSeconds(++_step) + TimeSpan.FromTicks(Fractions[_step % Fractions.Length]));

    public sealed record Reply(Guid Session, string Text);

    /// <summary>Sends a turn, expecting <paramref name="expected"/>.</summary>
    public async Task<Reply> SendAsync(object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        Tick();
        using var response = await Client.PostCompletionAsync(body);
        var json = await response.ReadJsonAsync();
        var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
        var message = json["choices"]?[0]?["message"];
        var text = (string?)message?["content"] ?? "";
        var tools = message?["tool_calls"]?.AsArray().Select(c => $"{c!["id"]}:{c["function"]!["name"]}({c["function"]!["arguments"]})");
        Seen.Add($"POST {(int)response.StatusCode} session={session} finish={json["choices"]?[0]?["finish_reason"]} content={text} " +
            $"refusal={message?["refusal"]} tools=[{string.Join(", ", tools ?? [])}] error={json["error"]?["type"]} usage={json["usage"]?.ToJsonString()}");
        Assert.Equal(expected, response.StatusCode);
        return new Reply(session, text);
    }

    /// <summary>Sends a streamed turn, expecting it to end with [DONE], or to break off when <paramref name="broken"/>.</summary>
    public async Task<Reply> StreamAsync(object body, bool broken = false)
    {
        Tick();
        using var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(body) },
            HttpCompletionOption.ResponseHeadersRead);
        var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = new List<string>();
        var brokeOff = false;
        try
        {
            await response.ReadEventsAsync(events.Add);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            brokeOff = true;
        }
        var chunks = events.Chunks();
        var choices = chunks.Where(c => c["choices"]?.AsArray().Count > 0).Select(c => c["choices"]![0]!).ToList();
        var text = string.Concat(choices.Select(c => (string?)c["delta"]?["content"]));
        var refusal = string.Concat(choices.Select(c => (string?)c["delta"]?["refusal"]));
        var tools = choices.SelectMany(c => c["delta"]?["tool_calls"]?.AsArray() ?? []).Select(c => $"{c!["id"]}:{c["function"]?["name"]}");
        Seen.Add($"STREAM {(int)response.StatusCode} session={session} finish={choices.LastOrDefault(c => c["finish_reason"] is not null)?["finish_reason"]} " +
            $"content={text} refusal={refusal} tools=[{string.Join(", ", tools)}] errors=[{string.Join(", ", chunks.Where(c => c["error"] is not null).Select(c => c["error"]!["type"]))}] " +
            $"done={events.LastOrDefault() == "[DONE]"} broken={brokeOff}");
        Assert.Equal(broken, brokeOff);
        Assert.Equal(!broken, events.LastOrDefault() == "[DONE]");
        return new Reply(session, text);
    }

    /// <summary>Reads a stream until <paramref name="until"/> has arrived, then goes away; returns once the turn is stored.</summary>
    public async Task<Guid> AbandonStreamAsync(object body, string until)
    {
        Tick();
        var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(body) },
            HttpCompletionOption.ResponseHeadersRead);
        var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
        var seen = "";
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync()))
        {
            while (!seen.Contains(until, StringComparison.Ordinal))
                seen += await reader.ReadLineAsync() ?? throw new InvalidOperationException($"The stream ended before '{until}'.");
        }
        response.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        // The step's time as PostgreSQL keeps it, to the microsecond; SQLite keeps it whole.
        var now = Clock.GetUtcNow().UtcDateTime;
        var stepTime = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        while (await App.QueryAsync(db => db.Sessions.AnyAsync(s => s.Id == session && s.LastUpdateAt >= stepTime)) is false)
        {
            Assert.True(DateTime.UtcNow < deadline, "The abandoned turn was not stored.");
            await Task.Delay(20);
        }
        Seen.Add($"ABANDONED session={session}");
        return session;
    }

    public async Task<HttpStatusCode> DeleteAsync(string idOrName)
    {
        Tick();
        using var response = await Client.DeleteAsync($"/api/external/sessions/{idOrName}");
        Seen.Add($"DELETE {idOrName} {(int)response.StatusCode}");
        return response.StatusCode;
    }

    /// <summary>
    /// Everything the run left, as lines: what the caller saw; every row of Sessions and SessionMessages, every column as
    /// SQLite's own literal (so text, integers and blobs can't pass for one another; a message's generated id left out);
    /// and the Sessions API's view of the list and of each session (its messages' generated ids left out).
    /// </summary>
    public async Task<List<string>> SnapshotAsync()
    {
        var labels = new Labels();
        List<string> lines = [.. Seen.Select(labels.Of)];
        // NULLs first is SQLite's default order, said for PostgreSQL, whose default puts them last.
        var sessions = await RowsAsync("Sessions", """FROM "Sessions" t ORDER BY t."CreatedAt", t."ConversationId" NULLS FIRST, t."Id" """);
        lines.AddRange(sessions.Select(row => "Sessions: " + labels.Of(row.Line)));
        var messages = await RowsAsync("SessionMessages", """
            FROM "SessionMessages" t LEFT JOIN "Sessions" s ON s."Id" = t."SessionId"
            ORDER BY s."CreatedAt", s."ConversationId" NULLS FIRST, t."SessionId", t."Sequence"
            """, ignored: "Id");
        lines.AddRange(messages.Select(row => "SessionMessages: " + labels.Of(row.Line)));
        lines.Add("GET /sessions: " + labels.Of(await GetAsync("/api/external/sessions?page_size=100")));
        foreach (var (id, _) in sessions)
        {
            foreach (var path in new[] { "", "/messages?page_size=100", "/status" })
                lines.Add($"GET /sessions/{labels.Of(id)}{path}: " + labels.Of(await GetAsync($"/api/external/sessions/{id}{path}")));
        }
        return lines;
    }

    private async Task<string> GetAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        var json = await response.ReadJsonAsync();
        foreach (var message in json["messages"]?.AsArray() ?? [])
            message!.AsObject().Remove("id");
        return $"{(int)response.StatusCode} {json.ToJsonString()}";
    }

    /// <summary>
    /// Every row of <paramref name="table"/> (aliased t) as "Column=literal …", in SQLite's order of columns, with its Id
    /// as SQLite holds it (upper-case text).
    /// </summary>
    public async Task<List<(string Id, string Line)>> RowsAsync(string table, string fromAndOrder, string ignored = "")
    {
        var columns = (await SqliteColumns.Value)[table].Where(c => c != ignored).ToList();
        return await App.QueryAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            await using var select = db.Database.GetDbConnection().CreateCommand();
            var values = App.Engine == Engine.Sqlite ? columns.Select(c => $"quote(t.\"{c}\")") : columns.Select(c => $"t.\"{c}\"");
            select.CommandText = $"""SELECT t."Id", {string.Join(", ", values)} {fromAndOrder}""";
            await using var rows = await select.ExecuteReaderAsync();
            var found = new List<(string, string)>();
            while (await rows.ReadAsync())
            {
                var id = rows.GetValue(0) is Guid guid ? guid.ToString().ToUpperInvariant() : rows.GetValue(0).ToString()!;
                found.Add((id, string.Join(" ", columns.Select((c, i) => $"{c}={(App.Engine == Engine.Sqlite ? rows.GetString(i + 1) : SqliteLiteral(rows.GetValue(i + 1)))}"))));
            }
            return found;
        });
    }

    /// <summary>
    /// Each table's columns in the order SQLite's migrations left them (those added later at the end), which PostgreSQL's
    /// single migration does not share: the order of every engine's lines.
    /// </summary>
    private static readonly Lazy<Task<Dictionary<string, List<string>>>> SqliteColumns = new(async () =>
    {
        await using var db = new JunisDb(new DbContextOptionsBuilder<JunisDb>().UseSqlite("Data Source=:memory:").Options);
        await db.Database.OpenConnectionAsync();
        await DatabaseStartup.MigrateAsync(db, CancellationToken.None);
        await using var info = db.Database.GetDbConnection().CreateCommand();
        info.CommandText = "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' ORDER BY m.name, c.cid";
        await using var reader = await info.ExecuteReaderAsync();
        var tables = new Dictionary<string, List<string>>();
        while (await reader.ReadAsync())
        {
            if (!tables.TryGetValue(reader.GetString(0), out var columns))
                tables[reader.GetString(0)] = columns = [];
            columns.Add(reader.GetString(1));
        }
        return tables;
    });

    /// <summary>A value read from PostgreSQL as SQLite's quote() writes what EF Core stores for it on SQLite.</summary>
    private static string SqliteLiteral(object value) => value switch
    {
        DBNull => "NULL",
        string text => $"'{text.Replace("'", "''", StringComparison.Ordinal)}'",
        Guid id => $"'{id.ToString().ToUpperInvariant()}'",
        DateTime time => $"'{time.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture)}'",
        bool flag => flag ? "1" : "0",
        byte[] bytes => $"X'{Convert.ToHexString(bytes)}'",
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        _ => throw new NotSupportedException($"No SQLite literal for a {value.GetType()}."),
    };

    public void Dispose()
    {
        Client.Dispose();
        App.Dispose();
    }

    /// <summary>
    /// Random ids replaced by labels in order of first appearance: G1 for an id in upper case, g1 in lower case, n1 for
    /// one written without dashes.
    /// </summary>
    public sealed partial class Labels
    {
        private readonly Dictionary<Guid, int> _ids = [];
        private readonly Dictionary<string, int> _calls = [];

        public string Of(string text)
        {
            text = AnId().Replace(text, m =>
            {
                var label = Label(_ids, Guid.Parse(m.Value));
                return !m.Value.Any(char.IsAsciiLetterLower) ? $"G{label}" : !m.Value.Any(char.IsAsciiLetterUpper) ? $"g{label}" : $"Gg{label}";
            });
            text = AnIdWithoutDashes().Replace(text, m => $"n{Label(_ids, Guid.ParseExact(m.Value, "N"))}");
            return ACallId().Replace(text, m => $"call_#{Label(_calls, m.Value)}");
        }

        private static int Label<T>(Dictionary<T, int> labels, T value) where T : notnull =>
            labels.TryGetValue(value, out var label) ? label : labels[value] = labels.Count + 1;

        [GeneratedRegex("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
        private static partial Regex AnId();

        [GeneratedRegex(@"\b[0-9a-f]{32}\b")]
        private static partial Regex AnIdWithoutDashes();

        [GeneratedRegex("call_[0-9a-f]{32}")]
        private static partial Regex ACallId();
    }
}

/// <summary>
/// Runs the same steps on a server storing sessions through EF Core on SQLite, the reference; on one storing them
/// through SQLite's fast path; and on PostgreSQL, through EF Core and through its own turn store.
/// </summary>
public static partial class StoreComparison
{
    /// <summary>
    /// Runs <paramref name="steps"/> on every store, asserts that SQLite's fast path left exactly what the reference left,
    /// PostgreSQL the same to the microsecond, and PostgreSQL's turn store exactly what EF Core left there; returns what
    /// the reference left.
    /// </summary>
    public static async Task<List<string>> AssertEveryStoreKeepsAlikeAsync(Func<StoreRun, Task> steps, StoreSetup? setup = null)
    {
        var reference = await RunAsync("EfCore", steps, setup);
        var fastPath = await RunAsync("Sqlite", steps, setup);
        AssertSameLines(reference, fastPath);
        var postgres = await RunAsync("EfCore", steps, setup, Engine.PostgreSql);
        AssertSameLines(reference.ConvertAll(ToTheMicrosecond), postgres.ConvertAll(ToTheMicrosecond), "PostgreSQL");
        // PostgreSQL's own turn store, its default: held to the reference on the same engine, then to SQLite's.
        var postgresFastPath = await RunAsync("Sqlite", steps, setup, Engine.PostgreSql);
        AssertSameLines(postgres, postgresFastPath, "PostgreSQL's turn store");
        return reference;
    }

    public static async Task<List<string>> RunAsync(string store, Func<StoreRun, Task> steps, StoreSetup? setup = null, Engine engine = Engine.Sqlite)
    {
        using var run = new StoreRun(store, setup ?? new(), engine);
        await steps(run);
        return await run.SnapshotAsync();
    }

    public static void AssertSameLines(List<string> reference, List<string> other, string otherName = "SQLite")
    {
        for (var i = 0; i < Math.Max(reference.Count, other.Count); i++)
        {
            var expected = i < reference.Count ? reference[i] : "(no such line)";
            var actual = i < other.Count ? other[i] : "(no such line)";
            Assert.True(expected == actual, $"Line {i + 1} differs.\nEF Core:    {expected}\n{otherName + ":",-11} {actual}");
        }
    }

    /// <summary>
    /// A line with every time in it cut to the microsecond. PostgreSQL keeps times to the microsecond, where SQLite
    /// through EF Core keeps them to the tick, and the runs' clock steps in fractions of ticks (<see cref="StoreRun.Tick"/>):
    /// the one way the engines may differ in what they keep.
    /// </summary>
    public static string ToTheMicrosecond(string line) => ATime().Replace(line, time =>
    {
        var fraction = time.Groups["fraction"].Value.PadRight(7, '0')[..6].TrimEnd('0');
        return time.Groups["seconds"].Value + (fraction.Length > 0 ? "." + fraction : "");
    });

    [GeneratedRegex(@"(?<seconds>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(\.(?<fraction>\d{1,7}))?")]
    private static partial Regex ATime();
}
