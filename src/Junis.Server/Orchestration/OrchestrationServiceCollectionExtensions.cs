using Microsoft.Extensions.Options;

namespace Junis.Server.Orchestration;

public static class OrchestrationServiceCollectionExtensions
{
    public static IServiceCollection AddOrchestration(this IServiceCollection services)
    {
        services.AddOptions<OrchestratorOptions>().BindConfiguration(OrchestratorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KeywordToolOptions>().BindConfiguration(KeywordToolOptions.Section).ValidateOnStart();
        services.AddSingleton<KeywordToolOptionsSetup>();
        services.AddSingleton<IPostConfigureOptions<KeywordToolOptions>>(sp => sp.GetRequiredService<KeywordToolOptionsSetup>());
        services.AddSingleton<IValidateOptions<KeywordToolOptions>>(sp => sp.GetRequiredService<KeywordToolOptionsSetup>());
        services.AddSingleton<KeywordTools>();
        services.AddOptions<StreamingOptions>().BindConfiguration(StreamingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StreamingOptions>, StreamingOptionsValidator>();
        services.AddSingleton<RunningTurns>();
        services.AddSingleton<Orchestrator>();
        return services;
    }
}
