namespace Junis.Server.Sessions;

public static class SessionsServiceCollectionExtensions
{
    public static IServiceCollection AddSessions(this IServiceCollection services)
    {
        services.AddOptions<SessionsOptions>().BindConfiguration(SessionsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SessionLookups>();
        services.AddSingleton<SessionResolver>();
        services.AddSingleton<SessionActivity>();
        services.AddSingleton<TurnWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<TurnWriter>());
        services.AddSingleton<SessionRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionRetention>());
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, SessionsJson.ForResults));
        return services;
    }
}
