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

var completions = new Completions(new StreamSettings(
    builder.Configuration.GetValue("chunks", 20),
    builder.Configuration.GetValue("delay-ms", 20)));

var app = builder.Build();
app.MapPost("/v1/chat/completions", completions.HandleAsync);
app.MapGet("/v1/models", Completions.ListModelsAsync);
app.MapPost("/mock/defaults", completions.SetDefaultsAsync);
app.MapGet("/mock/stats", completions.GetStatsAsync);
app.Run();
