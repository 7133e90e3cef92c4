// The floor for any .NET gateway: Kestrel plus YARP forwarding every request, untouched, to the upstream.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddHttpForwarder();

var app = builder.Build();
app.MapForwarder("/{**path}", app.Configuration["upstream"] ?? "http://127.0.0.1:5101");
app.Run();
