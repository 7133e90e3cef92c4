using System.Data.Common;
using Npgsql;

namespace Junis.Server.Data.PostgreSql;

/// <summary>What the server adds to the operator's PostgreSQL connection string, unless the string says otherwise.</summary>
public static class PostgresConnection
{
    /// <summary>Enough for every statement the hot path runs again and again (the turn, the limits, the key refresh).</summary>
    public const int AutoPrepared = 64;

    /// <summary>
    /// Statements run repeatedly are prepared on each pooled connection (Npgsql's automatic preparation): PostgreSQL then
    /// parses and plans them once per connection instead of once per turn.
    /// </summary>
    public static string WithDefaults(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.Keys.Cast<string>().Any(key => key.Replace(" ", "", StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)))
            return connectionString;
        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = AutoPrepared }.ConnectionString;
    }
}
