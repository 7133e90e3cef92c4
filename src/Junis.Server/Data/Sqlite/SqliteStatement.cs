using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Junis.Server.Data.Sqlite;

/// <summary>
/// A statement prepared once on a connection and run many times through SQLite's own API, with its values bound
/// straight from the caller's memory. Microsoft.Data.Sqlite allocates a binder and a converted copy of every
/// parameter on every execution, on a path that binds a dozen per message (bench/ANALYSIS.md, "Figures behind the code"). Values are stored as EF Core stores them, so EF Core reads them back unchanged.
/// </summary>
internal sealed class SqliteStatement : IDisposable
{
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.FFFFFFF";

    private readonly sqlite3 _connection;
    private readonly sqlite3_stmt _statement;
    private readonly string[] _parameters;
    private ulong _bound;

    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _connection = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Expect(raw.sqlite3_prepare_v3(_connection, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement), raw.SQLITE_OK);
        _parameters = new string[raw.sqlite3_bind_parameter_count(_statement)];
        if (_parameters.Length > 64)
            throw new ArgumentException("A statement may have at most 64 parameters.", nameof(sql));
        for (var i = 0; i < _parameters.Length; i++)
            _parameters[i] = raw.sqlite3_bind_parameter_name(_statement, i + 1).utf8_to_string();
    }

    public SqliteStatement Bind(string name, long value)
    {
        var index = IndexOf(name);
        return Bound(index, raw.sqlite3_bind_int64(_statement, index, value));
    }

    public SqliteStatement Bind(string name, long? value) => value is { } number ? Bind(name, number) : BindNull(name);

    public SqliteStatement Bind(string name, bool value) => Bind(name, value ? 1L : 0L);

    public SqliteStatement Bind(string name, string? value) => value is null ? BindNull(name) : BindText(name, value);

    public SqliteStatement Bind(string name, byte[] value)
    {
        var index = IndexOf(name);
        return Bound(index, raw.sqlite3_bind_blob(_statement, index, value));
    }

    /// <summary>A Guid as EF Core stores it in SQLite: upper-case text.</summary>
    public SqliteStatement Bind(string name, Guid value)
    {
        Span<char> text = stackalloc char[36];
        value.TryFormat(text, out _);
        Ascii.ToUpperInPlace(text, out _);
        return BindText(name, text);
    }

    public SqliteStatement Bind(string name, Guid? value) => value is { } id ? Bind(name, id) : BindNull(name);

    /// <summary>A time as EF Core stores it in SQLite: ISO text, trailing zeros of the fraction left out.</summary>
    public SqliteStatement Bind(string name, DateTime value)
    {
        Span<char> text = stackalloc char[TimeFormat.Length];
        value.TryFormat(text, out var length, TimeFormat, CultureInfo.InvariantCulture);
        return BindText(name, text[..length]);
    }

    public SqliteStatement Bind(string name, DateTime? value) => value is { } time ? Bind(name, time) : BindNull(name);

    private SqliteStatement BindText(string name, ReadOnlySpan<char> text)
    {
        var index = IndexOf(name);
        return Bound(index, raw.sqlite3_bind_text16(_statement, index, text));
    }

    private SqliteStatement BindNull(string name)
    {
        var index = IndexOf(name);
        return Bound(index, raw.sqlite3_bind_null(_statement, index));
    }

    /// <summary>Runs a statement that returns no rows.</summary>
    public void Execute()
    {
        try
        {
            Expect(Step(), raw.SQLITE_DONE);
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>Runs a query and reads its first row with <paramref name="read"/>, or returns the default when there is none.</summary>
    public T? QueryFirst<T>(Func<SqliteStatement, T> read)
    {
        try
        {
            var result = Step();
            if (result == raw.SQLITE_DONE)
                return default;
            Expect(result, raw.SQLITE_ROW);
            return read(this);
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>Runs a query and reads every row with <paramref name="read"/>.</summary>
    public List<T> QueryAll<T>(Func<SqliteStatement, T> read)
    {
        try
        {
            var rows = new List<T>();
            // Only the first step may wait and start over: once rows have been read, the read lock is held.
            for (var result = Step(); ; result = raw.sqlite3_step(_statement))
            {
                if (result != raw.SQLITE_ROW)
                {
                    Expect(result, raw.SQLITE_DONE);
                    return rows;
                }
                rows.Add(read(this));
            }
        }
        finally
        {
            Reset();
        }
    }

    public long Int64(int column) => raw.sqlite3_column_int64(_statement, column);

    public int Int32(int column) => raw.sqlite3_column_int(_statement, column);

    public Guid Guid(int column) => System.Guid.Parse(raw.sqlite3_column_blob(_statement, column));

    public byte[] Bytes(int column) => raw.sqlite3_column_blob(_statement, column).ToArray();

    public string? Text(int column) =>
        raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL ? null : Encoding.UTF8.GetString(raw.sqlite3_column_blob(_statement, column));

    private int Step()
    {
        if (_bound != (_parameters.Length == 64 ? ulong.MaxValue : (1UL << _parameters.Length) - 1))
            throw new InvalidOperationException("Every parameter of the statement must be bound before it runs.");
        // SQLite waits for another connection's write itself (SqliteBusyTimeout), but answers at once when another
        // connection of a shared-cache database holds a table, or when waiting could not help: try again, as
        // Microsoft.Data.Sqlite does, within the same time.
        var started = Environment.TickCount64;
        while (true)
        {
            var result = raw.sqlite3_step(_statement);
            if ((result & 0xFF) is not (raw.SQLITE_BUSY or raw.SQLITE_LOCKED) || Environment.TickCount64 - started > SqliteBusyTimeout.Milliseconds)
                return result;
            raw.sqlite3_reset(_statement);
            Thread.Sleep(1);
        }
    }

    private void Reset()
    {
        raw.sqlite3_reset(_statement);
        _bound = 0;
    }

    private SqliteStatement Bound(int index, int result)
    {
        Expect(result, raw.SQLITE_OK);
        _bound |= 1UL << (index - 1);
        return this;
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i] == name)
                return i + 1;
        }
        throw new ArgumentException($"The statement has no parameter {name}.", nameof(name));
    }

    private void Expect(int result, int expected)
    {
        if (result == expected)
            return;
        SqliteException.ThrowExceptionForRC(result, _connection);
        throw new InvalidOperationException($"SQLite answered {result} where {expected} was expected.");
    }

    public void Dispose() => _statement.Dispose();
}
