using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Junis.Server.Auth;

/// <summary>Creates the configured bootstrap key, once, so a fresh deployment has a way in.</summary>
public sealed class BootstrapKey(IServiceScopeFactory scopes, IOptions<AuthOptions> options, TimeProvider clock, ILogger<BootstrapKey> logger)
{
    public const string OrganizationName = "default";

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (options.Value.BootstrapKey is not { Length: > 0 } secret)
            return;

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        var hash = ApiKeySecret.Hash(secret).ToArray();
        if (await db.ApiKeys.AnyAsync(k => k.SecretHash == hash, cancellationToken))
            return;

        var now = clock.GetUtcNow().UtcDateTime;
        var organization = await db.Organizations.FirstOrDefaultAsync(o => o.Name == OrganizationName, cancellationToken)
            ?? db.Organizations.Add(new Organization { Name = OrganizationName, CreatedAt = now }).Entity;
        db.ApiKeys.Add(ApiKeySecret.NewKey(organization.Id, "bootstrap", secret, Scopes.All, now));
        await db.SaveChangesAsync(cancellationToken);
        logger.LogInformation("Created the bootstrap key {Prefix}… in organization {Organization}", ApiKeySecret.DisplayPrefix(secret), OrganizationName);
    }
}
