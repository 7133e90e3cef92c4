using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Junis.Server.WebConsole;

/// <summary>One file of the console: its bytes, its media type and the tag a browser revalidates its copy with.</summary>
public sealed record ConsoleFile(byte[] Content, string ContentType, EntityTagHeaderValue ETag);

/// <summary>
/// The console's files (<c>WebConsole/Files/**</c>), embedded in the assembly so the console is served whatever the content
/// root is, and read once: they are small and never change while the server runs.
/// </summary>
public static class ConsoleFiles
{
    private const string ResourcePrefix = "console/";

    /// <summary>Every file by its path under <c>/console/</c>.</summary>
    public static FrozenDictionary<string, ConsoleFile> All { get; } = Load();

    private static FrozenDictionary<string, ConsoleFile> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var types = new FileExtensionContentTypeProvider();
        var files = new Dictionary<string, ConsoleFile>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            // MSBuild's RecursiveDir uses the building machine's separator.
            var path = resource[ResourcePrefix.Length..].Replace('\\', '/');
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var type = types.TryGetContentType(path, out var known) ? known : "application/octet-stream";
            if (type.StartsWith("text/", StringComparison.Ordinal))
                type += "; charset=utf-8";
            var tag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
            files[path] = new ConsoleFile(content, type, tag);
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
