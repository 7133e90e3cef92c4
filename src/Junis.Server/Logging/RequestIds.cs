namespace Junis.Server.Logging;

/// <summary>
/// Every answer names its request in an <c>x-request-id</c> header, as OpenAI's do (the SDKs show it as the
/// response's request id): the server's own id, which its log line carries too, or, for a chat completion, the id the
/// model's server gave its answer when it gave one.
/// </summary>
public static class RequestIds
{
    public const string Header = "x-request-id";

    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        http.TraceIdentifier = Ids.Random("req_");
        // Set as the headers go out: an error page clears what was set before it, and a model's own id set later wins.
        http.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            if (!http.Response.Headers.ContainsKey(Header))
                http.Response.Headers[Header] = http.TraceIdentifier;
            return Task.CompletedTask;
        }, http);
        return next(http);
    });
}
