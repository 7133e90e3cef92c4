using Junis.Server.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Data;

public static class DataServiceCollectionExtensions
{
    public const string ConnectionStringName = "Junis";
    public const string DefaultConnectionString = "Data Source=junis.db";

    public static IServiceCollection AddJunisData(this IServiceCollection services)
    {
        // Pooled contexts: per request (scoped) for reads, from the factory for the turn writer's batches.
        services.AddPooledDbContextFactory<JunisDb>((services, options) => options.UseJunisDb(services.GetRequiredService<IConfiguration>()));
        services.AddScoped(services => services.GetRequiredService<IDbContextFactory<JunisDb>>().CreateDbContext());
        services.AddHostedService<DatabaseStartup>();
        services.AddHealthChecks().AddDbContextCheck<JunisDb>("database");
        return services;
    }

    /// <summary>The server's database, for the server and its admin commands alike.</summary>
    public static DbContextOptionsBuilder UseJunisDb(this DbContextOptionsBuilder options, IConfiguration configuration) => options
        .UseSqlite(ConnectionString(configuration))
        // The model compiled ahead (dotnet ef dbcontext optimize) instead of built from OnModelCreating at every start
        // (bench/ANALYSIS.md, "Figures behind the code"); MigrationTests checks that the two agree.
        .UseModel(CompiledModel.JunisDbModel.Instance)
        .AddInterceptors(SqliteBusyTimeout.Instance);

    /// <summary>
    /// Which implementation serves each storage seam (sessions, turns, keys): <c>Sqlite</c>, SQLite's fast paths,
    /// the default; or <c>EfCore</c>, the reference through EF Core that any provider takes.
    /// </summary>
    public const string StoreSetting = "Junis:Data:Store";

    public static DataStore Store(this IServiceProvider services) =>
        services.GetRequiredService<IConfiguration>().GetValue(StoreSetting, DataStore.Sqlite);

    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } configured ? configured : DefaultConnectionString;
}

public enum DataStore
{
    Sqlite,
    EfCore,
}
