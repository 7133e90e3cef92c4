using System.Data.Common;
using System.Net;
using Junis.Server.Auth;
using Junis.Server.Auth.Memory;
using Junis.Server.Auth.PostgreSql;
using Junis.Server.Auth.Storage;
using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Junis.Server.Tests.Auth;

/// <summary>
/// What every limit counter guarantees (ILimitCounters' remarks) under concurrency: on the in-memory counters, and on
/// two EF Core counters sharing one database as two servers would, on SQLite and on PostgreSQL.
/// </summary>
public sealed class LimitCountersGuaranteeTests : IDisposable
{
    private const int Racers = 40;
    private static readonly IPAddress Guesser = IPAddress.Parse("198.51.100.23");

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 10, 0, 30, TimeSpan.Zero));
    private JunisApp? _app;

    public void Dispose() => _app?.Dispose();

    /// <summary>The server whose database the EF Core counters use.</summary>
    private JunisApp App(Engine engine) => _app ??= new JunisApp(engine: engine);

    /// <summary>Each kind of counters: in memory (no database), EF Core's on either engine, and PostgreSQL's own batch.</summary>
    private sealed class CountersAttribute : Xunit.Sdk.DataAttribute
    {
        public override IEnumerable<object[]> GetData(System.Reflection.MethodInfo testMethod) =>
            [["Memory", Engine.Sqlite], .. new DatabaseCountersAttribute().GetData(testMethod)];
    }

    /// <summary>The counters kept in a database.</summary>
    private sealed class DatabaseCountersAttribute : Xunit.Sdk.DataAttribute
    {
        public override IEnumerable<object[]> GetData(System.Reflection.MethodInfo testMethod) =>
            [["EfCore", Engine.Sqlite], ["EfCore", Engine.PostgreSql], ["PostgreSql", Engine.PostgreSql]];
    }

    /// <summary>The counters as each server would have them: one in memory, or two over the database.</summary>
    private ILimitCounters[] Servers(string store, Engine engine) => store switch
    {
        "EfCore" => [.. Enumerable.Range(0, 2).Select(_ => new EfCoreLimitCounters(App(engine).Services.GetRequiredService<IDbContextFactory<JunisDb>>(), _clock))],
        "PostgreSql" => [.. Enumerable.Range(0, 2).Select(_ => new PostgresLimitCounters(App(engine).Services.GetRequiredService<IConfiguration>(), _clock))],
        _ => [new MemoryLimitCounters(_clock)],
    };

    /// <summary>Runs <paramref name="attempt"/> <see cref="Racers"/> times at once, spread over the servers.</summary>
    private static Task<T[]> RaceAsync<T>(ILimitCounters[] servers, Func<ILimitCounters, ValueTask<T>> attempt) =>
        Task.WhenAll(Enumerable.Range(0, Racers).Select(i => Task.Run(async () => await attempt(servers[i % servers.Length]))));

    [Theory, Counters]
    public async Task FortyAtOnceAgainstAMinuteOfTenAdmitTenAndTheRefusedLeaveTheHourUntouched(string store, Engine engine)
    {
        var servers = Servers(store, engine);
        var key = Guid.NewGuid();

        var decisions = await RaceAsync(servers, counters => counters.AcquireAsync(key, 10, 1000, default));
        var after = await servers[0].AcquireAsync(key, 10, 1000, default);

        Assert.Equal(10, decisions.Count(d => d.Allowed));
        Assert.Equal(Enumerable.Range(0, 10), decisions.Where(d => d.Allowed).Select(d => d.Minute.Remaining).Order());
        Assert.False(after.Allowed);
        Assert.Equal(990, after.Hour.Remaining);
    }

    [Theory, Counters]
    public async Task FortyAtOnceAgainstAnHourOfTenAdmitTenAndTheRefusedLeaveTheMinuteUntouched(string store, Engine engine)
    {
        var servers = Servers(store, engine);
        var key = Guid.NewGuid();

        var decisions = await RaceAsync(servers, counters => counters.AcquireAsync(key, 1000, 10, default));
        var after = await servers[^1].AcquireAsync(key, 1000, 10, default);

        Assert.Equal(10, decisions.Count(d => d.Allowed));
        Assert.False(after.Allowed);
        Assert.Equal(990, after.Minute.Remaining);
    }

    [Theory, Counters]
    public async Task FortyFailuresAtOnceAgainstALimitOfTenCountTenAndBlockTheAddressUntilTheMinuteEnds(string store, Engine engine)
    {
        var servers = Servers(store, engine);

        var refusals = await RaceAsync(servers, counters => counters.RecordFailureAsync(Guesser, 10, default));

        Assert.Equal(10, refusals.Count(until => until is null));
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 10, 1, 0, TimeSpan.Zero), await servers[^1].BlockedUntilAsync(Guesser, 10, default));
        Assert.Null(await servers[0].BlockedUntilAsync(Guesser, 11, default));
    }

    [Theory, DatabaseCounters]
    public async Task WindowsThatEndedOverAnHourAgoAreDeletedFromTheDatabase(string store, Engine engine)
    {
        var counters = Servers(store, engine)[0];
        await counters.AcquireAsync(Guid.NewGuid(), 10, 100, default);
        await counters.RecordFailureAsync(Guesser, 10, default);
        _clock.Advance(TimeSpan.FromMinutes(70)); // 11:10:30: the 10 o'clock windows ended, but not an hour ago
        await counters.AcquireAsync(Guid.NewGuid(), 10, 100, default);
        var starts = () => App(engine).QueryAsync(db => db.LimitWindows.Select(w => w.Start.Hour * 100 + w.Start.Minute).ToListAsync());
        var afterSeventyMinutes = await starts();
        _clock.Advance(TimeSpan.FromHours(1)); // 12:10:30
        await counters.AcquireAsync(Guid.NewGuid(), 10, 100, default);

        Assert.Equal([1000, 1000, 1000, 1100, 1110], afterSeventyMinutes.Order());
        Assert.Equal([1100, 1110, 1200, 1210], (await starts()).Order());
    }

    [Theory, Engines]
    public async Task AWindowAnotherServerInsertedFirstIsCountedInNotLost(Engine engine)
    {
        // The other server's insert lands between this one's finding no row and inserting it: the key refuses the
        // second insert, and this server's request must then be counted on the row the other one made.
        var app = App(engine);
        _ = app.Services; // the server started, so the schema is there
        var minute = new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc);
        var failures = new EfCoreLimitCounters(new ForestalledFactory(app, $"ip:{Guesser}:minute", minute), _clock);
        var key = Guid.NewGuid();
        var requests = new EfCoreLimitCounters(new ForestalledFactory(app, $"key:{key}:minute", minute), _clock);

        Assert.Null(await failures.RecordFailureAsync(Guesser, 2, default));
        Assert.NotNull(await failures.BlockedUntilAsync(Guesser, 2, default));
        Assert.NotNull(await failures.RecordFailureAsync(Guesser, 2, default));

        // Inside the transaction taking both windows, which must go on after the refused insert.
        var decision = await requests.AcquireAsync(key, 2, 10, default);
        Assert.True(decision.Allowed);
        Assert.Equal((0, 9), (decision.Minute.Remaining, decision.Hour.Remaining));
    }

    [Theory, Engines]
    public async Task AFailureIsCountedOnAWindowAnotherServerInsertedJustAfterThisOneFoundNone(Engine engine)
    {
        // The other server's insert commits between this one's update finding no row and its looking for the row: the
        // window has room, so the failure must be counted on the row the other one made, not refused as if it were full.
        var app = App(engine);
        _ = app.Services; // the server started, so the schema is there
        var minute = new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc);
        var failures = new EfCoreLimitCounters(new OvertakenFactory(app, $"ip:{Guesser}:minute", minute), _clock);

        Assert.Null(await failures.RecordFailureAsync(Guesser, 2, default));
        Assert.NotNull(await failures.BlockedUntilAsync(Guesser, 2, default));
    }

    [Fact]
    public async Task OnPostgreSqlARequestIsCountedOnAWindowAnotherServerInsertedJustAfterThisOneFoundNone()
    {
        // The same inside the transaction taking both of a key's windows. Only PostgreSQL lets another server's insert in
        // there: on SQLite the transaction keeps every other writer out from its first update on.
        var app = App(Engine.PostgreSql);
        _ = app.Services;
        var key = Guid.NewGuid();
        var requests = new EfCoreLimitCounters(new OvertakenFactory(app, $"key:{key}:minute", new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc)), _clock);

        var decision = await requests.AcquireAsync(key, 2, 10, default);

        Assert.True(decision.Allowed);
        Assert.Equal((0, 9), (decision.Minute.Remaining, decision.Hour.Remaining));
    }

    /// <summary>A context on the app's database through <paramref name="interceptor"/>, of the type the server uses on its engine.</summary>
    private static JunisDb Context(JunisApp app, IInterceptor interceptor) => app.Engine == Engine.PostgreSql
        ? new PostgresJunisDb(new DbContextOptionsBuilder<PostgresJunisDb>().UseNpgsql(app.ConnectionString).AddInterceptors(interceptor).Options)
        : new JunisDb(new DbContextOptionsBuilder<JunisDb>().UseSqlite(app.ConnectionString).AddInterceptors(interceptor).Options);

    /// <summary>
    /// Contexts that have another server insert, and commit, the row for the window just after their first update of it
    /// found no row: on a connection of its own, as another server would.
    /// </summary>
    private sealed class OvertakenFactory(JunisApp app, string counter, DateTime start) : DbCommandInterceptor, IDbContextFactory<JunisDb>
    {
        private bool _overtaken;

        public JunisDb CreateDbContext() => Context(app, this);

        public override async ValueTask<int> NonQueryExecutedAsync(
            DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            if (result == 0 && !_overtaken && command.CommandText.Contains("UPDATE \"LimitWindows\"", StringComparison.Ordinal))
            {
                _overtaken = true;
                await app.QueryAsync(db =>
                {
                    db.LimitWindows.Add(new LimitWindow { Counter = counter, Start = start, Count = 1 });
                    return db.SaveChangesAsync(cancellationToken);
                });
            }
            return result;
        }
    }

    /// <summary>Contexts on the app's database that have another server's row for the window inserted just before they insert their own.</summary>
    private sealed class ForestalledFactory(JunisApp app, string counter, DateTime start)
        : DbCommandInterceptor, IDbContextFactory<JunisDb>, IDbTransactionInterceptor
    {
        private bool _forestalled;

        public JunisDb CreateDbContext() => Context(app, this);

        public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("INSERT INTO \"LimitWindows\"", StringComparison.Ordinal))
                await ForestallAsync(command.Connection!, command.Transaction, cancellationToken);
            return result;
        }

        // In a transaction the insert is made behind a savepoint, whose rollback would take the other row back with it.
        public async ValueTask<InterceptionResult> CreatingSavepointAsync(
            DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
        {
            await ForestallAsync(transaction.Connection!, transaction, cancellationToken);
            return result;
        }

        // On the same connection and in its transaction: SQLite lets one writer in at a time.
        private async Task ForestallAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
        {
            if (_forestalled)
                return;
            _forestalled = true;
            await using JunisDb other = app.Engine == Engine.PostgreSql
                ? new PostgresJunisDb(new DbContextOptionsBuilder<PostgresJunisDb>().UseNpgsql(connection).Options)
                : new JunisDb(new DbContextOptionsBuilder<JunisDb>().UseSqlite(connection).Options);
            if (transaction is not null)
                await other.Database.UseTransactionAsync(transaction, cancellationToken);
            other.LimitWindows.Add(new LimitWindow { Counter = counter, Start = start, Count = 1 });
            await other.SaveChangesAsync(cancellationToken);
        }
    }
}
