using System.Data.Common;
using System.Reflection;

namespace Junis.Server.Data;

/// <summary>
/// Brings the schema up to date by running the SQL that EF Core generated for each migration the database has not
/// had yet: <c>Data/Migrations/&lt;migration&gt;.sql</c>, embedded in the assembly, the text
/// <c>dotnet ef migrations script</c> prints (its own transaction and its history row included). It is what
/// <c>Database.Migrate()</c> would run, without building EF Core's model at every start (bench/ANALYSIS.md, "Figures
/// behind the code"). The tests check that each script is exactly what EF Core generates for its migration.
/// </summary>
public static class MigrationScripts
{
    private const string ResourcePrefix = "migrations/";

    /// <summary>Every migration's id and SQL, oldest first.</summary>
    public static IReadOnlyList<(string Id, string Sql)> All { get; } = Load();

    public static async Task ApplyAsync(JunisDb db, CancellationToken cancellationToken)
    {
        var applied = await AppliedAsync(db, cancellationToken);
        foreach (var (id, sql) in All.Where(m => !applied.Contains(m.Id)))
        {
            try
            {
                await using var command = await db.CommandAsync(sql, cancellationToken);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (DbException)
            {
                // A script stops at its first failing statement with its transaction still open.
                await RollBackAsync(db);
                // Another server starting on the same database applied it first: its tables already existed.
                if (!(await AppliedAsync(db, cancellationToken)).Contains(id))
                    throw;
            }
        }
    }

    private static async Task<HashSet<string>> AppliedAsync(JunisDb db, CancellationToken cancellationToken)
    {
        await using var exists = await db.CommandAsync(
            """SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsHistory'""", cancellationToken);
        if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
            return [];

        var applied = new HashSet<string>(StringComparer.Ordinal);
        await using var command = await db.CommandAsync("""SELECT "MigrationId" FROM "__EFMigrationsHistory" """, cancellationToken);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            applied.Add(reader.GetString(0));
        return applied;
    }

    private static async Task RollBackAsync(JunisDb db)
    {
        try
        {
            await using var command = await db.CommandAsync("ROLLBACK", CancellationToken.None);
            await command.ExecuteNonQueryAsync();
        }
        catch (DbException)
        {
            // No transaction was open: the script failed before its BEGIN or after its COMMIT.
        }
    }

    private static List<(string Id, string Sql)> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        return [.. assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(name =>
            {
                using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
                return (name[ResourcePrefix.Length..^".sql".Length], reader.ReadToEnd());
            })];
    }
}
