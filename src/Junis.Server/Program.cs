using Junis.Server.Agents;
using Junis.Server.ApiDocs;
using Junis.Server.Auth;
using Junis.Server.ChatCompletions;
using Junis.Server.Data;
using Junis.Server.Errors;
using Junis.Server.Hosting;
using Junis.Server.Llm;
using Junis.Server.Logging;
using Junis.Server.Orchestration;
using Junis.Server.Sessions;
using Junis.Server.Telemetry;
using Junis.Server.Usage;
using Junis.Server.WebConsole;

// The same appsettings.json whatever folder the server is started in, or no start at all.
var contentRoot = ContentRoot.Find(args);
if (!contentRoot.HasSettings)
    return contentRoot.RefuseToStart();

if (AdminCommands.Handles(args) || AgentCommands.Handles(args) || UsageCommands.Handles(args))
    return await AdminCommands.RunAsync(args, contentRoot.Path, AgentCommands.Create, UsageCommands.Create);

// Configuration is read and validated once, at start-up; nothing here reloads it. Watching the content root for
// changes would wake a thread for every write to a database that lives there.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = ["--hostBuilder:reloadConfigOnChange=false", .. args],
    ContentRootPath = contentRoot.Path,
});

builder.AddJunisLogging();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddGracefulShutdown();

builder.Services.AddJunisData();
builder.Services.AddJunisForwardedHeaders();
builder.Services.AddApiKeyAuthentication();
builder.Services.AddLlm(builder.Configuration);
builder.Services.AddSessions();
builder.Services.AddAgents();
builder.Services.AddOrchestration();
builder.Services.AddChatCompletions();
builder.Services.AddUsage();
builder.Services.AddApiDocuments();
builder.Services.AddTelemetry(builder.Configuration);
builder.Services.AddKeysApi();
builder.Services.AddWebConsole();

var app = builder.Build();

// Before anything that reads the client's address: behind a proxy it is the proxy's until this runs.
app.UseJunisForwardedHeaders();
// Around everything else, so a request's overhead is all of its time in the server less its model's.
app.UseTelemetry();
// Outermost of the rest, so each request is logged once with the status it finally got, errors included.
app.UseJunisRequestLogging();
app.UseRequestIds();
app.UseOpenAIErrors();
app.UseAuthentication();
app.UseKeyRateLimits();
app.UseAuthorization();

var api = app.MapGroup("/api/external").RequireAuthorization();
api.MapGroup("/v1").MapChatCompletions().MapModels();
api.MapSessions();
api.MapAgents().MapAgentCompletions();
api.MapUsage();
api.MapKeys();

app.MapApiDocuments();
app.MapWebConsole();
app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
app.MapHealthChecks("/health/ready");

await app.RunAsync();
return 0;
