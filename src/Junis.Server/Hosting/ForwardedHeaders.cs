using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using IPNetwork = System.Net.IPNetwork;

namespace Junis.Server.Hosting;

/// <summary>The proxies and load balancers trusted to say, in <c>X-Forwarded-For</c>, which client they forward.</summary>
public sealed class ForwardedHeadersSettings
{
    public const string Section = "Junis:ForwardedHeaders";

    /// <summary>The proxies' own addresses.</summary>
    public IList<string> KnownProxies { get; init; } = [];

    /// <summary>Networks, in CIDR notation, every address of which is a trusted proxy.</summary>
    public IList<string> KnownNetworks { get; init; } = [];

    public bool Any => KnownProxies.Count > 0 || KnownNetworks.Count > 0;
}

/// <summary>Refuses to start with an entry that is not an address or a network, naming it.</summary>
public sealed class ForwardedHeadersSettingsValidator : IValidateOptions<ForwardedHeadersSettings>
{
    public ValidateOptionsResult Validate(string? name, ForwardedHeadersSettings options)
    {
        var errors = options.KnownProxies.Where(p => !IPAddress.TryParse(p, out _))
            .Select(p => $"{ForwardedHeadersSettings.Section}:KnownProxies: '{p}' is not an IP address.")
            .Concat(options.KnownNetworks.Where(n => !IPNetwork.TryParse(n, out _))
                .Select(n => $"{ForwardedHeadersSettings.Section}:KnownNetworks: '{n}' is not a network in CIDR notation (such as 10.0.0.0/8)."))
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class ForwardedHeadersExtensions
{
    public static IServiceCollection AddJunisForwardedHeaders(this IServiceCollection services)
    {
        services.AddOptions<ForwardedHeadersSettings>().BindConfiguration(ForwardedHeadersSettings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ForwardedHeadersSettings>, ForwardedHeadersSettingsValidator>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>((options, settings) =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // Only what is configured: the framework would also trust loopback, which a sidecar could spoof from.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in settings.Value.KnownProxies)
                options.KnownProxies.Add(IPAddress.Parse(proxy));
            foreach (var network in settings.Value.KnownNetworks)
                options.KnownIPNetworks.Add(IPNetwork.Parse(network));
            // Through a chain of trusted proxies to the first address none of them owns, however long the chain.
            options.ForwardLimit = null;
        });
        return services;
    }

    /// <summary>
    /// Takes the client's address and scheme from a trusted proxy's headers, before anything logs or counts them; with
    /// no proxy configured the headers are ignored, whoever sends them.
    /// </summary>
    public static IApplicationBuilder UseJunisForwardedHeaders(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersSettings>>().Value.Any ? app.UseForwardedHeaders() : app;
}
