using Junis.Server.Auth;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Data;

public sealed class JunisDb(DbContextOptions<JunisDb> options) : DbContext(options)
{
    public DbSet<Organization> Organizations => Set<Organization>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<Organization>(organization =>
        {
            organization.Property(o => o.Name).HasMaxLength(100);
            organization.HasIndex(o => o.Name).IsUnique();
        });

        model.Entity<ApiKey>(key =>
        {
            key.Property(k => k.Name).HasMaxLength(200);
            key.Property(k => k.Description).HasMaxLength(1000);
            key.Property(k => k.Prefix).HasMaxLength(20);
            key.Property(k => k.SecretHash).HasMaxLength(32);
            key.Property(k => k.Scopes).HasMaxLength(500);
            key.HasIndex(k => k.SecretHash).IsUnique();
            key.HasIndex(k => k.Prefix);
            key.HasOne(k => k.Organization).WithMany().HasForeignKey(k => k.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
