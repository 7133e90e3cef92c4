using Microsoft.Extensions.Options;

namespace Junis.Server.Hosting;

public static class ShutdownServiceCollectionExtensions
{
    /// <summary>
    /// Time after the drain window for what follows it: cut streams send their error event and store their partial
    /// replies, and the turn writer finishes its queue, all before the host gives up and Kestrel aborts what is left.
    /// </summary>
    private static readonly TimeSpan AfterDrain = TimeSpan.FromSeconds(5);

    public static IServiceCollection AddGracefulShutdown(this IServiceCollection services)
    {
        services.AddOptions<ShutdownOptions>().BindConfiguration(ShutdownOptions.Section)
            .Validate(o => o.ShutdownSeconds is >= 0 and <= 600, $"{ShutdownOptions.Section}:ShutdownSeconds must be between 0 and 600.")
            .ValidateOnStart();
        services.AddOptions<HostOptions>().Configure<IOptions<ShutdownOptions>>(
            (host, shutdown) => host.ShutdownTimeout = TimeSpan.FromSeconds(shutdown.Value.ShutdownSeconds) + AfterDrain);
        services.AddSingleton<Draining>();
        services.AddHostedService(services => services.GetRequiredService<Draining>());
        services.AddHealthChecks().AddCheck<Draining>("draining");
        return services;
    }
}
