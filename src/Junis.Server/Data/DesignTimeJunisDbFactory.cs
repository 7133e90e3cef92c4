using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Junis.Server.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting the server.</summary>
public sealed class DesignTimeJunisDbFactory : IDesignTimeDbContextFactory<JunisDb>
{
    public JunisDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<JunisDb>().UseSqlite(DataServiceCollectionExtensions.DefaultConnectionString).Options);
}
