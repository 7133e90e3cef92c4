using Microsoft.Extensions.Options;

namespace Junis.Server.Auth;

public sealed class AuthOptions
{
    public const string Section = "Junis:Auth";

    /// <summary>A key created at start-up, if absent, in the <c>default</c> organization with every scope.</summary>
    public string? BootstrapKey { get; set; }
}

public sealed class AuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    /// <summary>The key the development launch profile sets; published in the README, so refused anywhere else.</summary>
    public const string DevelopmentKey = "jns_live_DevelopmentKeyForLocalUseOnly000";

    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        if (string.IsNullOrEmpty(options.BootstrapKey))
            return ValidateOptionsResult.Success;
        if (!ApiKeySecret.IsWellFormed(options.BootstrapKey))
            return ValidateOptionsResult.Fail($"{AuthOptions.Section}:BootstrapKey must be '{ApiKeySecret.Prefix}' followed by {ApiKeySecret.RandomLength} letters or digits.");
        if (options.BootstrapKey == DevelopmentKey && !environment.IsDevelopment())
            return ValidateOptionsResult.Fail($"{AuthOptions.Section}:BootstrapKey is the published development key; set a secret one outside Development.");
        return ValidateOptionsResult.Success;
    }
}
