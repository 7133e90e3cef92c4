using Junis.Server.Sessions.PostgreSql;
using Junis.Server.Sessions.Sqlite;
using Junis.Server.Sessions.Storage;
using Junis.Server.Data;

namespace Junis.Server.Sessions;

public static class SessionsServiceCollectionExtensions
{
    public static IServiceCollection AddSessions(this IServiceCollection services)
    {
        services.AddOptions<SessionsOptions>().BindConfiguration(SessionsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SqliteSessionLookups>();
        services.AddSingleton<ISessionLookups>(sp => sp.Store() == DataStore.EfCore
            ? ActivatorUtilities.CreateInstance<EfCoreSessionLookups>(sp)
            : sp.GetRequiredService<SqliteSessionLookups>());
        services.AddSingleton<ITurnStore>(sp => sp.FastPathsWanted() && sp.Provider() == DatabaseProvider.PostgreSQL
            ? ActivatorUtilities.CreateInstance<PostgresTurnStore>(sp)
            : sp.Store() == DataStore.EfCore
            ? ActivatorUtilities.CreateInstance<EfCoreTurnStore>(sp)
            : ActivatorUtilities.CreateInstance<SqliteTurnStore>(sp));
        services.AddSingleton<FailedTurns>();
        services.AddSingleton<SessionResolver>();
        services.AddSingleton(sp => new SessionActivity(sp.Provider() == DatabaseProvider.PostgreSQL
            ? ActivatorUtilities.CreateInstance<SharedSessionActivity>(sp)
            : null));
        services.AddHostedService(sp => sp.GetRequiredService<SessionActivity>());
        services.AddSingleton<TurnWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<TurnWriter>());
        services.AddSingleton<SessionRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionRetention>());
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, SessionsJson.ForResults));
        return services;
    }
}
