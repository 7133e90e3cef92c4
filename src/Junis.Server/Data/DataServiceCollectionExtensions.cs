using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Data;

public static class DataServiceCollectionExtensions
{
    public const string ConnectionStringName = "Junis";
    public const string DefaultConnectionString = "Data Source=junis.db";

    public static IServiceCollection AddJunisData(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionStringName) is { Length: > 0 } configured
            ? configured
            : DefaultConnectionString;
        services.AddDbContextPool<JunisDb>(options => options.UseSqlite(connectionString));
        services.AddHostedService<DatabaseStartup>();
        services.AddHealthChecks().AddDbContextCheck<JunisDb>("database");
        return services;
    }
}
