using System.Text.RegularExpressions;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Architecture;

/// <summary>
/// The server's folders depend one way: ChatCompletions → Orchestration → {Llm, Sessions, Agents, Usage} → Data,
/// Auth → Data, Agents → {Auth, Llm, Data} and Usage → {Auth, Data}: agents are run by the orchestration, never by
/// the HTTP edge, and the usage ledger is written as the orchestration stores a turn. Telemetry is named by every
/// folder that measures and names none of them; the web console reaches the rest only through the API, as any
/// client does.
/// Wire types stay at the HTTP edge, and SQLite's own API stays in the SQLite store. Read from the source, so a
/// new file is held to it the moment it exists.
/// </summary>
public sealed partial class DependencyTests
{
    /// <summary>What each folder must not name. Data names the entities it maps (Sessions, Auth, Agents), nothing else.</summary>
    public static TheoryData<string, string[]> ForbiddenReferences => new()
    {
        { "Llm", ["ChatCompletions", "Orchestration", "Sessions", "Auth", "Data", "Errors", "Logging", "Agents", "Usage"] },
        { "Usage", ["ChatCompletions", "Orchestration", "Sessions", "Llm", "Agents"] },
        { "Data", ["ChatCompletions", "Orchestration", "Llm", "Errors", "Logging"] },
        { "Sessions", ["ChatCompletions", "Orchestration", "Agents", "Usage"] },
        { "Orchestration", ["ChatCompletions", "Auth", "Data", "Errors"] },
        { "Auth", ["ChatCompletions", "Orchestration", "Sessions", "Llm"] },
        { "ChatCompletions", ["Sessions", "Data", "Agents"] },
        { "Errors", ["ChatCompletions", "Orchestration", "Sessions", "Llm", "Auth", "Data", "Agents"] },
        { "Agents", ["ChatCompletions", "Orchestration", "Sessions"] },
        { "Telemetry", ["ChatCompletions", "Orchestration", "Sessions", "Llm", "Auth", "Data", "Errors", "Agents", "Usage"] },
        { "WebConsole", ["ChatCompletions", "Orchestration", "Sessions", "Llm", "Auth", "Data", "Agents", "Usage"] },
    };

    [Theory]
    [MemberData(nameof(ForbiddenReferences))]
    public void AFolderNamesNothingItMustNotDependOn(string folder, string[] forbidden)
    {
        var offences = SourceFiles(folder)
            .SelectMany(file => References(file).Where(forbidden.Contains).Distinct().Select(target => $"{Relative(file)} names Junis.Server.{target}"))
            .ToList();

        Assert.True(offences.Count == 0, string.Join(Environment.NewLine, offences));
    }

    [Fact]
    public void OnlyTheSqliteStoreTouchesSqlitesOwnApi()
    {
        var offences = SourceFiles("")
            .Where(file => !file.Split(Path.DirectorySeparatorChar).Contains("Sqlite"))
            .Where(file => SqliteApi().IsMatch(File.ReadAllText(file)))
            .Select(Relative)
            .ToList();

        Assert.True(offences.Count == 0, "SQLite's API outside a Sqlite folder: " + string.Join(", ", offences));
    }

    [Fact]
    public void OnlyThePostgreSqlStoresTouchNpgsqlsOwnApi()
    {
        var offences = SourceFiles("")
            .Where(file => !file.Split(Path.DirectorySeparatorChar).Contains("PostgreSql"))
            .Where(file => NpgsqlApi().IsMatch(File.ReadAllText(file)))
            .Select(Relative)
            .ToList();

        Assert.True(offences.Count == 0, "Npgsql's API outside a PostgreSql folder: " + string.Join(", ", offences));
    }

    [Fact]
    public void TheChecksSeeTheSource()
    {
        // Guards the tests above against passing on an empty tree.
        Assert.Contains(SourceFiles("Sessions"), file => file.EndsWith("TurnWriter.cs", StringComparison.Ordinal));
        Assert.Contains("ChatCompletions", References(SourceFiles("ChatCompletions").Single(f => f.EndsWith("CompletionStream.cs", StringComparison.Ordinal))).Append("ChatCompletions"));
        Assert.Contains("Orchestration", References(SourceFiles("ChatCompletions").Single(f => f.EndsWith("CompletionStream.cs", StringComparison.Ordinal))));
        Assert.Contains(SourceFiles(""), file => SqliteApi().IsMatch(File.ReadAllText(file)));
        Assert.Contains(SourceFiles(""), file => NpgsqlApi().IsMatch(File.ReadAllText(file)));
    }

    private static IEnumerable<string> SourceFiles(string folder) =>
        Directory.EnumerateFiles(Path.Combine(Repository.ServerSource, folder), "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>The server's folders a file names, by <c>using</c> or by a qualified name; its own namespace line aside.</summary>
    private static IEnumerable<string> References(string file) =>
        File.ReadLines(file)
            .Where(line => !line.TrimStart().StartsWith("namespace ", StringComparison.Ordinal))
            .SelectMany(line => ServerNamespace().Matches(line).Select(m => m.Groups[1].Value));

    private static string Relative(string file) => Path.GetRelativePath(Repository.ServerSource, file);

    [GeneratedRegex(@"\bJunis\.Server\.(\w+)")]
    private static partial Regex ServerNamespace();

    [GeneratedRegex(@"\bSqliteConnection\b|\bSQLitePCL\b|\braw\.sqlite3_|\bMicrosoft\.Data\.Sqlite\b")]
    private static partial Regex SqliteApi();

    [GeneratedRegex(@"\busing Npgsql\b|\bNpgsql(Connection|Command|Batch|BatchCommand|DataReader|Parameter|DataSource)\b")]
    private static partial Regex NpgsqlApi();
}
