using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Llm;

public static class LlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the configured model as the <see cref="IChatClient"/> the orchestrator talks to, and every model provider
    /// (<see cref="ModelProviders"/>) as an <see cref="IChatClient"/> keyed by its name, each validated at start.
    /// </summary>
    public static IServiceCollection AddLlm(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>();
        services.AddSingleton<TokenCounter>();
        services.AddSingleton(sp => Create(sp, sp.GetRequiredService<IOptions<LlmOptions>>().Value));
        // The default provider is the unnamed client, whatever replaces it (a test's model, say).
        services.AddKeyedSingleton(ModelProviders.Default, (sp, _) => sp.GetRequiredService<IChatClient>());

        var providers = ModelProviders.In(configuration);
        foreach (var name in providers.Names.Skip(1))
        {
            services.AddOptions<LlmOptions>(name).BindConfiguration($"{ModelProviders.Section}:{name}").ValidateOnStart();
            if (!name.Equals(ModelProviders.Default, StringComparison.OrdinalIgnoreCase))
                services.AddKeyedSingleton(name, (sp, _) => Create(sp, sp.GetRequiredService<IOptionsMonitor<LlmOptions>>().Get(name)));
        }
        services.AddSingleton(providers);
        return services;
    }

    private static IChatClient Create(IServiceProvider services, LlmOptions options) => options.Provider switch
    {
        LlmProvider.OpenAI => new OpenAICompatibleChatClient(
            CreateHttpClient(options), options, services.GetRequiredService<ILoggerFactory>().CreateLogger("Junis.Server.Llm")),
        _ => new EchoChatClient(services.GetRequiredService<TokenCounter>(), TimeSpan.FromMilliseconds(options.TokenDelayMs)),
    };

    private static HttpClient CreateHttpClient(LlmOptions options)
    {
        // One pooled handler for the life of the process: connections to the model are reused across requests.
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(options.TimeoutSeconds, 10)),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            // A model endpoint answers where it is asked; a redirect is reported as the provider's answer, not followed.
            AllowAutoRedirect = false,
            // No trace context for the provider, and no child activity per call (bench/ANALYSIS.md, "Figures behind the code").
            ActivityHeadersPropagator = null,
        };
        // The client enforces its own timeouts: to the answer's start, and between two reads of a stream.
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }
}
