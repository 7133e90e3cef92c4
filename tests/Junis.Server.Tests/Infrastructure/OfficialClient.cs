using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>The official OpenAI .NET client, pointed at the server under test as a user would point it.</summary>
public static class OfficialClient
{
    public static ChatClient Chat(JunisApp app, string key = JunisApp.Key, string model = "junis-orchestrator") =>
        new(model, new ApiKeyCredential(key), Options(app));

    public static OpenAIClientOptions Options(JunisApp app) => new()
    {
        Endpoint = new Uri(app.Server.BaseAddress, "/api/external/v1"),
        Transport = new HttpClientPipelineTransport(app.CreateClient()),
        // The server's own errors are what these tests look at; retries would only repeat them.
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    };
}
