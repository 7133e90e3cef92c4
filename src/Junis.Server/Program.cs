using Junis.Server.Auth;
using Junis.Server.ChatCompletions;
using Junis.Server.Data;
using Junis.Server.Errors;
using Junis.Server.Llm;
using Junis.Server.Logging;
using Junis.Server.Orchestration;
using Junis.Server.Sessions;

if (AdminCommands.Handles(args))
    return await AdminCommands.RunAsync(args);

// Configuration is read and validated once, at start-up; nothing here reloads it. Watching the content root for
// changes would wake a thread for every write to the database that lives there by default.
var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);

builder.AddJunisLogging();
builder.Services.AddSingleton(TimeProvider.System);

builder.Services.AddJunisData();
builder.Services.AddApiKeyAuthentication();
builder.Services.AddLlm();
builder.Services.AddSessions();
builder.Services.AddOrchestration();
builder.Services.AddChatCompletions();

var app = builder.Build();

// Outermost, so each request is logged once with the status it finally got, errors included.
app.UseJunisRequestLogging();
app.UseRequestIds();
app.UseOpenAIErrors();
app.UseAuthentication();
app.UseKeyRateLimits();
app.UseAuthorization();

var api = app.MapGroup("/api/external").RequireAuthorization();
api.MapGroup("/v1").MapChatCompletions().MapModels();
api.MapSessions();

app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
app.MapHealthChecks("/health/ready");

await app.RunAsync();
return 0;
