namespace Junis.Server.Data;

/// <summary><c>Junis:Database:Provider</c>: the engine behind <c>ConnectionStrings:Junis</c>.</summary>
public enum DatabaseProvider
{
    /// <summary>A SQLite file (<c>Data Source=junis.db</c>): one process.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (an Npgsql connection string): any number of instances.</summary>
    PostgreSQL,
}
