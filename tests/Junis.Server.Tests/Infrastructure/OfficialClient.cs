using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using System.Text.Json.Nodes;
using OpenAI.Chat;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>The official OpenAI .NET client, pointed at the server under test as a user would point it.</summary>
public static class OfficialClient
{
    public static ChatClient Chat(JunisApp app, string key = JunisApp.Key, string model = "junis-orchestrator", JsonObject? extraBody = null) =>
        new(model, new ApiKeyCredential(key), Options(app, extraBody));

    public static OpenAIClientOptions Options(JunisApp app, JsonObject? extraBody = null)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(app.Server.BaseAddress, "/api/external/v1"),
            Transport = new HttpClientPipelineTransport(app.CreateClient()),
            // The server's own errors are what these tests look at; retries would only repeat them.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        if (extraBody is not null)
            options.AddPolicy(new ExtraBody(extraBody), PipelinePosition.PerCall);
        return options;
    }

    /// <summary>Adds fields to every request body, as <c>extra_body</c> does in the Python SDK.</summary>
    private sealed class ExtraBody(JsonObject fields) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Merge(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Merge(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Merge(PipelineMessage message)
        {
            using var buffer = new MemoryStream();
            message.Request.Content!.WriteTo(buffer);
            var body = JsonNode.Parse(buffer.ToArray())!.AsObject();
            foreach (var (name, value) in fields)
                body[name] = value?.DeepClone();
            message.Request.Content = BinaryContent.Create(BinaryData.FromString(body.ToJsonString()));
        }
    }
}
