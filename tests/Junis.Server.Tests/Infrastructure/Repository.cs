namespace Junis.Server.Tests.Infrastructure;

/// <summary>The repository the tests were built from, found above their binaries.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string ServerSource => Path.Combine(Root, "src", "Junis.Server");

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Junis.Server.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("The repository root was not found above the test binaries.");
    }
}
