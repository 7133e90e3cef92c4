using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Tests.Operations;

public sealed class DatabaseSettingsTests : IDisposable
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"junis-settings-{Guid.NewGuid():N}.db");

    [Fact]
    public async Task TheDatabaseFileRunsInWalModeSyncsEveryCommitAndWaitsForOtherWritersItself()
    {
        using var app = new JunisApp(new() { ["ConnectionStrings:Junis"] = $"Data Source={_database}" });
        using var _ = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("hi") } });

        var (journal, synchronous, foreignKeys, busyTimeout) = await app.QueryAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            var connection = db.Database.GetDbConnection();
            async Task<string> PragmaAsync(string name)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"PRAGMA {name}";
                return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture)!;
            }
            return (await PragmaAsync("journal_mode"), await PragmaAsync("synchronous"), await PragmaAsync("foreign_keys"), await PragmaAsync("busy_timeout"));
        });

        Assert.Equal("wal", journal);
        Assert.Equal("2", synchronous); // FULL: a commit reaches the disk before it returns
        Assert.Equal("1", foreignKeys); // deleting a session deletes its messages
        // SQLite waits for another writer in steps of milliseconds; left at 0, Microsoft.Data.Sqlite sleeps 150 ms.
        Assert.Equal("30000", busyTimeout);
    }

    [Fact]
    public async Task RetentionLeftUnsetStartsTheServer()
    {
        using var app = new JunisApp(new() { ["Junis:Sessions:RetentionDays"] = null });
        using var response = await app.CreateClient().GetAsync("/health/ready");

        Assert.True(response.IsSuccessStatusCode);
    }

    public void Dispose()
    {
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }
}
