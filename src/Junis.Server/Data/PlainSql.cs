using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace Junis.Server.Data;

/// <summary>
/// Plain SQL on a context's connection, for the statements that run at start-up and in the background: EF Core's
/// query and update pipelines would cost more there than the statements themselves, most of all the first time
/// they run (bench/ANALYSIS.md, "Figures behind the code"). The turn writer's statements, which run for every turn, go further
/// (see <see cref="Sqlite.SqliteStatement"/>). Values are bound through EF Core's own type mappings, so they are stored
/// exactly as EF Core stores them (a Guid as upper-case text, a time as ISO text).
/// </summary>
internal static class PlainSql
{
    /// <summary>A command on the context's connection, opened if need be, in the context's transaction if it has one.</summary>
    public static async Task<DbCommand> CommandAsync(this JunisDb db, string text, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = text;
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        return command;
    }

    /// <summary>Adds a parameter made by EF Core's mapping for <typeparamref name="T"/>.</summary>
    public static DbCommand Bind<T>(this DbCommand command, JunisDb db, string name, T value)
    {
        command.Parameters.Add(Parameter(db.GetService<IRelationalTypeMappingSource>(), command, name, typeof(T), value));
        return command;
    }

    private static DbParameter Parameter(IRelationalTypeMappingSource mappings, DbCommand command, string name, Type type, object? value) =>
        mappings.FindMapping(type)!.CreateParameter(command, name, value, nullable: true);

    public static DateTime? GetUtcDateTime(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc);
}
