using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Junis.Server.Llm;

public static class LlmServiceCollectionExtensions
{
    /// <summary>Registers the configured model as the <see cref="IChatClient"/> the orchestrator talks to.</summary>
    public static IServiceCollection AddLlm(this IServiceCollection services)
    {
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>();
        services.AddSingleton<TokenCounter>();
        services.AddSingleton<IChatClient>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<LlmOptions>>().Value;
            return options.Provider switch
            {
                LlmProvider.OpenAI => new OpenAICompatibleChatClient(
                    CreateHttpClient(options), options, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Junis.Server.Llm")),
                _ => new EchoChatClient(sp.GetRequiredService<TokenCounter>(), TimeSpan.FromMilliseconds(options.TokenDelayMs)),
            };
        });
        return services;
    }

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
