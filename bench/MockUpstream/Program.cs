using System.Net;
using MockUpstream;

// A stand-in for an OpenAI-compatible model server: it answers at once and streams on a fixed beat,
// so whatever a benchmark measures through a gateway is the gateway's own cost.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(IPAddress.Loopback, builder.Configuration.GetValue("port", 5101));
});

// --mode failing or silent: a model server that does not answer, the primary of a fallback chain (BrokenCompletions).
var mode = builder.Configuration.GetValue("mode", "answering");
if (mode is not ("answering" or "failing" or "silent"))
{
    Console.Error.WriteLine($"--mode is answering (the default), failing or silent, not {mode}");
    return 2;
}

var app = builder.Build();
if (mode == "answering")
{
    var completions = new Completions(new StreamSettings(
        builder.Configuration.GetValue("chunks", 20),
        builder.Configuration.GetValue("delay-ms", 20)));
    app.MapPost("/v1/chat/completions", completions.HandleAsync);
    app.MapGet("/v1/models", Completions.ListModelsAsync);
    app.MapPost("/mock/defaults", completions.SetDefaultsAsync);
    app.MapGet("/mock/stats", completions.GetStatsAsync);
}
else
{
    var broken = new BrokenCompletions(silent: mode == "silent");
    app.MapPost("/v1/chat/completions", broken.HandleAsync);
    app.MapGet("/v1/models", Completions.ListModelsAsync);
    app.MapGet("/mock/stats", broken.GetStatsAsync);
}
app.Run();
return 0;
