using System.Text.Json.Nodes;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>
/// A copy of the built server in a folder of its own, as it is deployed (a container's /app, say), holding the
/// <c>appsettings.json</c> a test writes there, or none. Deleted with everything in it when disposed.
/// </summary>
public sealed class ServerDeployment : IDisposable
{
    public const string SettingsFile = "appsettings.json";

    public ServerDeployment(JsonObject? settings)
    {
        Folder = Directory.CreateTempSubdirectory("junis-deployment-").FullName;
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(AppContext.BaseDirectory, file);
            if (relative == SettingsFile)
                continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(Folder, relative))!);
            File.Copy(file, Path.Combine(Folder, relative));
        }
        if (settings is not null)
            WriteSettings(Folder, settings);
    }

    public string Folder { get; }

    /// <summary>The appsettings.json the server ships with, to change for a test.</summary>
    public static JsonObject ShippedSettings() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, SettingsFile)))!.AsObject();

    public static void WriteSettings(string folder, JsonObject settings) =>
        File.WriteAllText(Path.Combine(folder, SettingsFile), settings.ToJsonString());

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
