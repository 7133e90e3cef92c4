using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Junis.Server.ChatCompletions;

public static class ChatCompletionsServiceCollectionExtensions
{
    public static IServiceCollection AddChatCompletions(this IServiceCollection services)
    {
        services.AddOptions<RequestLimitsOptions>().BindConfiguration(RequestLimitsOptions.Section)
            .Validate(l => l.MaxRequestBodyBytes is >= 1024 and <= 100 * 1024 * 1024, $"{RequestLimitsOptions.Section}:MaxRequestBodyBytes must be between 1024 and 104857600.")
            .Validate(l => l.MaxChoices is >= 1 and <= 128, $"{RequestLimitsOptions.Section}:MaxChoices must be between 1 and 128.")
            .ValidateOnStart();
        // Kestrel refuses larger bodies itself, before a handler reads them.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<RequestLimitsOptions>>(
            (kestrel, limits) => kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ChatCompletionsJson.ForResults));
        return services;
    }
}
