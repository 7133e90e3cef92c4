using System.Diagnostics;
using Junis.Server.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Llm;

public static class LlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the configured model as the <see cref="IChatClient"/> the orchestrator talks to, and every model provider
    /// (<see cref="ModelProviders"/>) as an <see cref="IChatClient"/> keyed by its name, each validated at start; a
    /// provider that names fallbacks is a <see cref="ModelChain"/> of them.
    /// </summary>
    public static IServiceCollection AddLlm(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>();
        services.AddSingleton<TokenCounter>();
        services.AddSingleton<ProviderBreakers>();
        services.AddSingleton(sp => Model(sp, ModelProviders.Default));
        // The default provider is the unnamed client, whatever replaces it (a test's model, say).
        services.AddKeyedSingleton(ModelProviders.Default, (sp, _) => sp.GetRequiredService<IChatClient>());
        services.AddKeyedSingleton(new ProviderKey(ModelProviders.Default), (sp, _) => Create(sp, ModelProviders.Default));

        var providers = ModelProviders.In(configuration);
        foreach (var name in providers.Names.Skip(1))
        {
            services.AddOptions<LlmOptions>(name).BindConfiguration($"{ModelProviders.Section}:{name}").ValidateOnStart();
            if (!name.Equals(ModelProviders.Default, StringComparison.OrdinalIgnoreCase))
            {
                services.AddKeyedSingleton(name, (sp, _) => Model(sp, name));
                services.AddKeyedSingleton(new ProviderKey(name), (sp, _) => Create(sp, name));
            }
        }
        services.AddSingleton(providers);
        return services;
    }

    /// <summary>A provider's own client, without its fallbacks: what a chain calls.</summary>
    private sealed record ProviderKey(string Name);

    private static LlmOptions OptionsOf(IServiceProvider services, string provider) =>
        services.GetRequiredService<IOptionsMonitor<LlmOptions>>().Get(provider == ModelProviders.Default ? Options.DefaultName : provider);

    /// <summary>The provider's model: its own client, or, when it names fallbacks, the chain of them.</summary>
    private static IChatClient Model(IServiceProvider services, string provider)
    {
        var options = OptionsOf(services, provider);
        var own = services.GetRequiredKeyedService<IChatClient>(new ProviderKey(provider));
        if (options.Fallbacks.Length == 0)
            return own;
        var breakers = services.GetRequiredService<ProviderBreakers>();
        ChainMember[] members = [
            new(provider, own, breakers.For(provider)),
            .. options.Fallbacks.Select(name => new ChainMember(name, services.GetRequiredKeyedService<IChatClient>(new ProviderKey(name)), breakers.For(name))),
        ];
        return new ModelChain(members, options.FirstTokenMs > 0 ? TimeSpan.FromMilliseconds(options.FirstTokenMs) : null,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Junis.Server.Llm"), services.GetRequiredService<ServerMetrics>());
    }

    private static IChatClient Create(IServiceProvider services, string provider)
    {
        var options = OptionsOf(services, provider);
        var telemetry = services.GetRequiredService<TelemetrySwitches>();
        IChatClient model = options.Provider switch
        {
            LlmProvider.OpenAI => new OpenAICompatibleChatClient(
                CreateHttpClient(options, telemetry.Traces), options, services.GetRequiredService<ILoggerFactory>().CreateLogger("Junis.Server.Llm"), provider),
            _ => new EchoChatClient(services.GetRequiredService<TokenCounter>(), TimeSpan.FromMilliseconds(options.TokenDelayMs)),
        };
        // Each call's span and GenAI metrics, never its messages.
        return telemetry.Any ? new InstrumentedChatClient(model, services.GetRequiredService<ServerMetrics>()) : model;
    }

    private static HttpClient CreateHttpClient(LlmOptions options, bool traced)
    {
        // One pooled handler for the life of the process: connections to the model are reused across requests.
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(options.TimeoutSeconds, 10)),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            // A model endpoint answers where it is asked; a redirect is reported as the provider's answer, not followed.
            AllowAutoRedirect = false,
            // Untraced, no trace context for the provider and no child activity per call (bench/ANALYSIS.md, "Figures behind the code").
            ActivityHeadersPropagator = traced ? DistributedContextPropagator.Current : null,
        };
        // The client enforces its own timeouts: to the answer's start, and between two reads of a stream.
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }
}
