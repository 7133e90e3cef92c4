using Junis.Server.Agents;
using Junis.Server.Auth;
using Junis.Server.Sessions;
using Junis.Server.Usage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Junis.Server.Data;

public class JunisDb : DbContext
{
    public JunisDb(DbContextOptions<JunisDb> options) : base(options)
    {
    }

    /// <summary>For an engine's own context (<see cref="PostgreSql.PostgresJunisDb"/>), which carries its own migrations.</summary>
    protected JunisDb(DbContextOptions options) : base(options)
    {
    }

    public DbSet<Organization> Organizations => Set<Organization>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<Session> Sessions => Set<Session>();
    public DbSet<SessionMessage> SessionMessages => Set<SessionMessage>();
    public DbSet<LimitWindow> LimitWindows => Set<LimitWindow>();
    public DbSet<Agent> Agents => Set<Agent>();
    public DbSet<UsageRecord> UsageRecords => Set<UsageRecord>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Every time is stored in UTC; say so when reading it back, so it is written out with its "Z".
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcConverter>();
    }

    internal sealed class UtcConverter() : ValueConverter<DateTime, DateTime>(v => v, v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    private const string Named = "\"ConversationId\" IS NOT NULL", Unnamed = "\"ConversationId\" IS NULL";

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Organization>(organization =>
        {
            organization.Property(o => o.Name).HasMaxLength(100);
            organization.HasIndex(o => o.Name).IsUnique();
        });

        modelBuilder.Entity<ApiKey>(key =>
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

        modelBuilder.Entity<UsageRecord>(usage =>
        {
            // As long as the name of the agent it records may be (Agents.Name).
            usage.Property(u => u.Agent).HasMaxLength(100);
            // Every report reads one organization's days.
            usage.HasIndex(u => new { u.OrganizationId, u.Day });
        });

        modelBuilder.Entity<Agent>(agent =>
        {
            agent.Property(a => a.Name).HasMaxLength(100);
            agent.Property(a => a.Description).HasMaxLength(1000);
            agent.Property(a => a.AgentType).HasMaxLength(32);
            agent.Property(a => a.Provider).HasMaxLength(64);
            agent.Property(a => a.Model).HasMaxLength(200);
            agent.Property(a => a.OutputKey).HasMaxLength(100);
            agent.HasIndex(a => new { a.OrganizationId, a.Name }).IsUnique();
            // One orchestrator per organization, kept by the database whoever writes.
            agent.HasIndex(a => a.OrganizationId).IsUnique().HasFilter("\"IsOrchestrator\"").HasDatabaseName("IX_Agents_Orchestrator");
            agent.HasOne<Organization>().WithMany().HasForeignKey(a => a.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<Session>(session =>
        {
            session.Property(s => s.ConversationId).HasMaxLength(256);
            session.Property(s => s.UserId).HasMaxLength(256);
            foreach (var hash in new[] { nameof(Session.TranscriptHash), nameof(Session.TurnStartHash), nameof(Session.TurnInputHash) })
                session.Property<byte[]>(hash).HasMaxLength(32);
            // Every lookup starts with the organization: indexes lead with it, so one tenant's sessions never slow another's.
            // The hash indexes end with the time, so "the newest session with this hash" is the first entry found.
            // A session is in the indexes that can find it: a named conversation by its name, any other by its hashes.
            // Hashes are random, so each hash index costs a turn a write to a random page: for named conversations,
            // which never need them, they were over half the cost of storing a turn.
            session.HasIndex(s => new { s.OrganizationId, s.ConversationId }).IsUnique().HasFilter(Named);
            session.HasIndex(s => new { s.OrganizationId, s.TranscriptHash, s.LastUpdateAt }).HasFilter(Unnamed);
            session.HasIndex(s => new { s.OrganizationId, s.TurnInputHash, s.LastUpdateAt }).HasFilter(Unnamed);
            session.HasIndex(s => new { s.OrganizationId, s.LastUpdateAt });
            session.HasOne<Organization>().WithMany().HasForeignKey(s => s.OrganizationId).OnDelete(DeleteBehavior.Cascade);
            session.HasMany<SessionMessage>().WithOne().HasForeignKey(m => m.SessionId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<SessionMessage>(message =>
        {
            message.Property(m => m.Role).HasMaxLength(16);
            message.Property(m => m.ToolCallId).HasMaxLength(256);
            message.Property(m => m.FinishReason).HasMaxLength(32);
            // As long as the name of the agent it records may be (Agents.Name).
            message.Property(m => m.Agent).HasMaxLength(100);
            // As long as a provider's name may be (LlmOptionsValidator).
            message.Property(m => m.Provider).HasMaxLength(64);
            message.HasIndex(m => new { m.SessionId, m.Sequence }).IsUnique();
        });

        modelBuilder.Entity<LimitWindow>(window =>
        {
            // The key decides which of two instances inserting the same new window goes first (EfCoreLimitCounters).
            window.HasKey(w => new { w.Counter, w.Start });
            window.Property(w => w.Counter).HasMaxLength(100);
        });
    }
}
