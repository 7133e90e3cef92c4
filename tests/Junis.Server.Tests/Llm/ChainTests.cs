using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// A provider with a fallback, over real HTTP against two model servers: the primary (<c>Junis:Llm</c>) and a
/// backup (<c>Junis:Providers:backup</c>), each answering as a test says.
/// </summary>
public abstract class ChainTests : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    protected FakeOpenAIServer Primary { get; } = new();
    protected FakeOpenAIServer Backup { get; } = new();
    protected JunisApp App { get; private set; } = null!;
    protected HttpClient Client { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Backup.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["From", " the", " backup."]);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
            await App.DisposeAsync();
        await Primary.DisposeAsync();
        await Backup.DisposeAsync();
    }

    protected void Start(Dictionary<string, string?>? settings = null, int primaryTimeoutSeconds = 30)
    {
        var all = Primary.Settings(primaryTimeoutSeconds);
        all["Junis:Llm:Fallbacks:0"] = "backup";
        all["Junis:Providers:backup:Provider"] = "OpenAI";
        all["Junis:Providers:backup:BaseUrl"] = Backup.BaseUrl;
        all["Junis:Providers:backup:ApiKey"] = "sk-backup-secret";
        all["Junis:Providers:backup:Model"] = "backup-model";
        foreach (var (name, value) in settings ?? [])
            all[name] = value;
        App = new JunisApp(all);
        App.UseKestrel();
        App.StartServer();
        Client = App.CreateAuthorizedClient();
    }

    protected static Task FailAsync(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync("""{"error":{"message":"Upstream trouble at 10.1.2.3","type":"server_error"}}""");
    }

    protected async Task<JsonNode> ReplyOfAsync(HttpResponseMessage response)
    {
        var session = response.Headers.GetValues("X-Session-Id").Single();
        using var messages = await Client.GetAsync($"/api/external/sessions/{session}/messages");
        var list = (await messages.ReadJsonAsync())["messages"]!.AsArray();
        return list[^1]!;
    }

}
