using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Data;

public static class DataServiceCollectionExtensions
{
    public const string ConnectionStringName = "Junis";
    public const string DefaultConnectionString = "Data Source=junis.db";

    public static IServiceCollection AddJunisData(this IServiceCollection services)
    {
        // Pooled contexts: per request (scoped) for reads, from the factory for the turn writer's batches.
        services.AddPooledDbContextFactory<JunisDb>((services, options) => options
            .UseSqlite(ConnectionString(services.GetRequiredService<IConfiguration>()))
            // The model compiled ahead (dotnet ef dbcontext optimize) instead of built from OnModelCreating at start-up,
            // which cost ~0.2 s; MigrationTests checks that the two agree.
            .UseModel(CompiledModel.JunisDbModel.Instance));
        services.AddScoped(services => services.GetRequiredService<IDbContextFactory<JunisDb>>().CreateDbContext());
        services.AddHostedService<DatabaseStartup>();
        services.AddHealthChecks().AddDbContextCheck<JunisDb>("database");
        return services;
    }

    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } configured ? configured : DefaultConnectionString;
}
