using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Junis.Server.Tests.Data;

/// <summary>PostgreSQL's own migration set keeps up with the model, and its checked-in SQL is what EF Core generates.</summary>
public sealed class PostgresMigrationTests
{
    private static readonly string Migrations = Path.Combine(Repository.ServerSource, "Data", "PostgreSql", "Migrations");

    // No server is needed to compare models or write scripts: the connection is never opened.
    private static PostgresJunisDb Open() =>
        new(new DbContextOptionsBuilder<PostgresJunisDb>().UseNpgsql("Host=localhost;Database=unused").Options);

    [Fact]
    public void ThePostgresMigrationsCoverTheWholeModel()
    {
        using var db = Open();

        Assert.True(db.Database.GetMigrations().Any());
        Assert.False(db.Database.HasPendingModelChanges(),
            "The model changed without a PostgreSQL migration: dotnet ef migrations add <Name> --context PostgresJunisDb " +
            "-o Data/PostgreSql/Migrations -n Junis.Server.Data.PostgreSql.Migrations -p src/Junis.Server");
    }

    [Fact]
    public void EachPostgresMigrationHasItsScriptAndTheScriptIsTheSqlEfCoreGeneratesForIt()
    {
        using var db = Open();
        var migrator = db.GetService<IMigrator>();
        var from = Migration.InitialDatabase;
        foreach (var migration in db.Database.GetMigrations())
        {
            var file = Path.Combine(Migrations, $"{migration}.sql");
            var command = $"dotnet ef migrations script {from} {migration} --context PostgresJunisDb -p src/Junis.Server " +
                $"-o src/Junis.Server/Data/PostgreSql/Migrations/{migration}.sql";
            Assert.True(File.Exists(file), $"No script for {migration}: {command}");
            Assert.True(Normalized(migrator.GenerateScript(from, migration)) == Normalized(File.ReadAllText(file)),
                $"The script of {migration} is not what EF Core generates: {command}");
            from = migration;
        }
    }

    [Fact]
    public void OnPostgresEveryStorageSeamTakesTheReference()
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                [DataServiceCollectionExtensions.ProviderSetting] = "PostgreSQL",
                [DataServiceCollectionExtensions.StoreSetting] = "Sqlite",
            }).Build())
            .BuildServiceProvider();

        Assert.Equal(DatabaseProvider.PostgreSQL, services.Provider());
        Assert.Equal(DataStore.EfCore, services.Store());
    }

    private static string Normalized(string sql) => sql.TrimStart('\uFEFF').ReplaceLineEndings("\n").Trim();
}
