namespace Junis.Server.Hosting;

/// <summary>
/// The folder the server reads <c>appsettings.json</c> from, the same whatever folder it is started in: the content
/// root given with <c>--contentRoot</c>, <c>ASPNETCORE_CONTENTROOT</c> or <c>DOTNET_CONTENTROOT</c>, else the folder
/// <c>Junis.Server.dll</c> is in, where the build, <c>dotnet publish</c> and the Dockerfile put the file.
/// </summary>
/// <remarks>
/// ASP.NET Core's own default, the current directory, left a server started from any other folder running on its
/// built-in defaults without a word. Only the settings move: a relative database path such as the default
/// <c>junis.db</c> is still taken from the current directory.
/// </remarks>
public sealed record ContentRoot(string Path, bool Given)
{
    public const string SettingsFile = "appsettings.json";

    public static ContentRoot Find(string[] args)
    {
        // Read from where, and in the order, the host reads it; a relative folder is taken from the current directory.
        var given = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_").AddEnvironmentVariables("ASPNETCORE_").AddCommandLine(args)
            .Build()[HostDefaults.ContentRootKey];
        return string.IsNullOrEmpty(given) ? new(AppContext.BaseDirectory, false) : new(System.IO.Path.GetFullPath(given), true);
    }

    public bool HasSettings => File.Exists(System.IO.Path.Combine(Path, SettingsFile));

    /// <summary>Says in one line why the server does not start, and returns its exit code.</summary>
    public int RefuseToStart()
    {
        var where = Given ? "the content root given" : "the folder of Junis.Server.dll";
        Console.Error.WriteLine($"Junis.Server did not start: no {SettingsFile} in {Path} ({where}). " +
            "Put one there, or give the folder that has it with --contentRoot or ASPNETCORE_CONTENTROOT.");
        return 1;
    }
}
