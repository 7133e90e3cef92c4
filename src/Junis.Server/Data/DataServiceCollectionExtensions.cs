using Junis.Server.Data.PostgreSql;
using Junis.Server.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Data;

public static class DataServiceCollectionExtensions
{
    public const string ConnectionStringName = "Junis";
    public const string DefaultConnectionString = "Data Source=junis.db";

    public static IServiceCollection AddJunisData(this IServiceCollection services)
    {
        // Pooled contexts: per request (scoped) for reads, from the factory for the turn writer's batches. Each engine has
        // its own context type, for its own migrations; every part of the server asks for a JunisDb.
        services.AddPooledDbContextFactory<JunisDb>((services, options) => options.UseJunisDb(services.GetRequiredService<IConfiguration>()));
        services.AddPooledDbContextFactory<PostgresJunisDb>((services, options) => options.UseJunisDb(services.GetRequiredService<IConfiguration>()));
        var sqlite = services.Last(d => d.ServiceType == typeof(IDbContextFactory<JunisDb>));
        services.Remove(sqlite);
        services.AddSingleton<IDbContextFactory<JunisDb>>(services => services.Provider() == DatabaseProvider.PostgreSQL
            ? new PostgresFactory(services.GetRequiredService<IDbContextFactory<PostgresJunisDb>>())
            : (IDbContextFactory<JunisDb>)(sqlite.ImplementationFactory?.Invoke(services) ?? ActivatorUtilities.CreateInstance(services, sqlite.ImplementationType!)));
        services.AddScoped(services => services.GetRequiredService<IDbContextFactory<JunisDb>>().CreateDbContext());
        services.AddHostedService<DatabaseStartup>();
        services.AddHealthChecks().AddDbContextCheck<JunisDb>("database");
        return services;
    }

    /// <summary>The server's database, for the server and its admin commands alike.</summary>
    public static DbContextOptionsBuilder UseJunisDb(this DbContextOptionsBuilder options, IConfiguration configuration) =>
        Provider(configuration) == DatabaseProvider.PostgreSQL
            ? options.UseNpgsql(PostgresConnection.WithDefaults(ConnectionString(configuration)))
            : options.UseSqlite(ConnectionString(configuration))
                // The model compiled ahead (dotnet ef dbcontext optimize) instead of built from OnModelCreating at every start
                // (bench/ANALYSIS.md, "Figures behind the code"); MigrationTests checks that the two agree.
                .UseModel(CompiledModel.JunisDbModel.Instance)
                .AddInterceptors(SqliteBusyTimeout.Instance);

    /// <summary><c>Junis:Database:Provider</c>: <c>Sqlite</c>, the default, or <c>PostgreSQL</c>.</summary>
    public const string ProviderSetting = "Junis:Database:Provider";

    public static DatabaseProvider Provider(IConfiguration configuration) => configuration.GetValue(ProviderSetting, DatabaseProvider.Sqlite);

    public static DatabaseProvider Provider(this IServiceProvider services) => Provider(services.GetRequiredService<IConfiguration>());

    /// <summary>
    /// Which implementation serves each storage seam (sessions, turns, keys): <c>Sqlite</c>, SQLite's fast paths,
    /// the default; or <c>EfCore</c>, the reference through EF Core that any provider takes.
    /// </summary>
    public const string StoreSetting = "Junis:Data:Store";

    /// <summary>
    /// Whether the engine's fast paths serve the seams that have one: unless <c>Junis:Data:Store</c> asks for the EF Core
    /// reference. On SQLite every seam has one; on PostgreSQL the turn store (the rest take the reference there).
    /// </summary>
    public static bool FastPathsWanted(this IServiceProvider services) =>
        services.GetRequiredService<IConfiguration>().GetValue(StoreSetting, DataStore.Sqlite) != DataStore.EfCore;

    public static DataStore Store(this IServiceProvider services) =>
        // SQLite's fast paths speak SQLite; any other engine takes the reference.
        services.Provider() != DatabaseProvider.Sqlite ? DataStore.EfCore
        : services.GetRequiredService<IConfiguration>().GetValue(StoreSetting, DataStore.Sqlite);

    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } configured ? configured : DefaultConnectionString;
}

/// <summary>The PostgreSQL contexts, handed out as the <see cref="JunisDb"/> every part of the server asks for.</summary>
internal sealed class PostgresFactory(IDbContextFactory<PostgresJunisDb> contexts) : IDbContextFactory<JunisDb>
{
    public JunisDb CreateDbContext() => contexts.CreateDbContext();
}

public enum DataStore
{
    Sqlite,
    EfCore,
}
