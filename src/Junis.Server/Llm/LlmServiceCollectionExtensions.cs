using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;

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
            var model = options.Provider switch
            {
                LlmProvider.OpenAI => CreateOpenAIClient(options),
                _ => new EchoChatClient(sp.GetRequiredService<TokenCounter>(), TimeSpan.FromMilliseconds(options.TokenDelayMs)),
            };
            return new ModelFailureTranslation(model, options, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Junis.Server.Llm"));
        });
        return services;
    }

    private static IChatClient CreateOpenAIClient(LlmOptions options)
    {
        // One pooled handler for the life of the process: connections to the model are reused across requests.
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(options.TimeoutSeconds, 10)),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var client = new OpenAIClient(
            // Local servers (Ollama, llama.cpp) need no key, but the client insists on one.
            new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "unused" : options.ApiKey),
            new OpenAIClientOptions
            {
                Endpoint = new Uri(options.BaseUrl!),
                Transport = new HttpClientPipelineTransport(http),
                NetworkTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
                RetryPolicy = new ClientRetryPolicy(options.MaxRetries),
            });
        return new StreamedToolCalls(client.GetChatClient(options.Model).AsIChatClient());
    }
}
