using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Junis.Server.WebConsole;

/// <summary>Whether the server serves its web console at <c>/console/</c>.</summary>
public sealed class WebConsoleOptions
{
    public const string Section = "Junis:Console";

    public bool Enabled { get; set; } = true;
}

/// <summary>
/// The web console: plain HTML, CSS and ES modules served at <c>/console/</c> without a key. The pages hold no data; they
/// call the API with the key the user signs in with, which the server checks as it checks any client's.
/// </summary>
public static class ConsoleSite
{
    public const string Path = "/console";

    /// <summary>Everything the pages load comes from this server, and nothing of them may be framed, posted or inlined.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    public static IServiceCollection AddWebConsole(this IServiceCollection services)
    {
        services.AddOptions<WebConsoleOptions>().BindConfiguration(WebConsoleOptions.Section).ValidateOnStart();
        return services;
    }

    /// <summary>The console, unless <c>Junis:Console:Enabled</c> is false.</summary>
    public static WebApplication MapWebConsole(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<WebConsoleOptions>>().Value.Enabled)
            app.MapGet(Path + "/{**file}", Serve).ExcludeFromDescription();
        return app;
    }

    private static Results<RedirectHttpResult, FileContentHttpResult, NotFound> Serve(string? file, HttpContext http)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        // The pages' relative addresses (app.js, console.css) resolve under /console/ only.
        if (string.IsNullOrEmpty(file) && !http.Request.Path.Value!.EndsWith('/'))
            return TypedResults.Redirect($"{http.Request.PathBase}{Path}/");
        if (!ConsoleFiles.All.TryGetValue(string.IsNullOrEmpty(file) ? "index.html" : file, out var found))
            return TypedResults.NotFound();
        // Kept, but checked again at each use: an upgraded server's files replace the old ones at once.
        headers.CacheControl = "no-cache";
        return TypedResults.Bytes(found.Content, found.ContentType, entityTag: found.ETag);
    }
}
