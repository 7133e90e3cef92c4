using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

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
            // Migrating checks by default that the model has no changes missing from the migrations, which means
            // building and comparing a second model at every start (~150 ms). The tests pin that check instead
            // (MigrationTests), so a build with such changes never ships.
            .ConfigureWarnings(warnings => warnings.Ignore(RelationalEventId.PendingModelChangesWarning)));
        services.AddScoped(services => services.GetRequiredService<IDbContextFactory<JunisDb>>().CreateDbContext());
        services.AddHostedService<DatabaseStartup>();
        services.AddHealthChecks().AddDbContextCheck<JunisDb>("database");
        return services;
    }

    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } configured ? configured : DefaultConnectionString;
}
