using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Junis.Server.Data.PostgreSql;

/// <summary>
/// The server's database on PostgreSQL: the same model, served wherever a <see cref="JunisDb"/> is asked for, with
/// PostgreSQL's own migrations (<c>Data/PostgreSql/Migrations</c>), which EF Core finds by this type.
/// </summary>
public sealed class PostgresJunisDb(DbContextOptions<PostgresJunisDb> options) : JunisDb(options);

/// <summary>Lets <c>dotnet ef migrations add … --context PostgresJunisDb</c> build the model without a server.</summary>
public sealed class DesignTimePostgresJunisDbFactory : IDesignTimeDbContextFactory<PostgresJunisDb>
{
    public PostgresJunisDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresJunisDb>().UseNpgsql("Host=localhost;Database=junis").Options);
}
