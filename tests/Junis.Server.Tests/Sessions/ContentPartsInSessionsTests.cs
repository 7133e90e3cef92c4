using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Junis.Server.Tests.Sessions;

/// <summary>Images, audio and files are kept with their messages, count in the transcript, and come back as they were sent.</summary>
public abstract class ContentPartsInSessionsTests(Engine engine)
{
    public sealed class OnSqlite() : ContentPartsInSessionsTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : ContentPartsInSessionsTests(Engine.PostgreSql);

    private static JsonArray Parts(string imageUrl) =>
    [
        new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = imageUrl, ["detail"] = "low" } },
        new JsonObject { ["type"] = "text", ["text"] = "What is this?" },
    ];

    private static JsonObject UserWith(JsonArray parts) => new() { ["role"] = "user", ["content"] = parts };

    private static async Task<(Guid Session, string Reply)> TurnAsync(HttpClient client, JsonObject body)
    {
        using var response = await client.PostCompletionAsync(body.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
        return (session, (string)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]!);
    }

    [Fact]
    public async Task AnImageIsKeptWithItsMessageAndShownByTheSessionsApi()
    {
        using var app = new JunisApp(engine: engine);
        var client = app.CreateAuthorizedClient();
        var parts = Parts("https://example.com/cat.png");

        var (session, reply) = await TurnAsync(client, new JsonObject { ["messages"] = new JsonArray(UserWith(parts)) });
        var messages = (await (await client.GetAsync($"/api/external/sessions/{session}/messages")).ReadJsonAsync())["messages"]!.AsArray();

        Assert.Equal("Echo: [image] What is this?", reply);
        Assert.Equal("What is this?", (string)messages[0]!["content"]!);
        Assert.True(JsonNode.DeepEquals(parts, messages[0]!["content_parts"]), messages[0]!.ToJsonString());
        Assert.Null(messages[1]!["content_parts"]);
    }

    [Fact]
    public async Task AnEmptyPartsArrayIsKeptAsEmptyContentAsBefore()
    {
        using var app = new JunisApp(engine: engine);
        var client = app.CreateAuthorizedClient();
        var first = new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hello" }) };
        var (session, reply) = await TurnAsync(client, first);

        var (continued, _) = await TurnAsync(client, new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = "Hello" },
                new JsonObject { ["role"] = "assistant", ["content"] = reply },
                new JsonObject { ["role"] = "user", ["content"] = new JsonArray() }),
        });
        var messages = (await (await client.GetAsync($"/api/external/sessions/{session}/messages")).ReadJsonAsync())["messages"]!.AsArray();

        Assert.Equal(session, continued);
        Assert.Equal("", (string?)messages[2]!["content"]);
        Assert.Null(messages[2]!["content_parts"]);
    }

    [Fact]
    public async Task ConversationsDifferingOnlyInAnImageStayApart()
    {
        using var app = new JunisApp(engine: engine);
        var client = app.CreateAuthorizedClient();
        var cat = Parts("https://example.com/cat.png");
        var dog = Parts("https://example.com/dog.png");

        var (withCat, catReply) = await TurnAsync(client, new JsonObject { ["messages"] = new JsonArray(UserWith(cat)) });
        var (withDog, dogReply) = await TurnAsync(client, new JsonObject { ["messages"] = new JsonArray(UserWith(dog)) });
        // Each continued with its whole history: the image alone says which conversation it is.
        var (catAgain, _) = await TurnAsync(client, new JsonObject
        {
            ["messages"] = new JsonArray(UserWith(cat.DeepClone().AsArray()), new JsonObject { ["role"] = "assistant", ["content"] = catReply },
                new JsonObject { ["role"] = "user", ["content"] = "And its colour?" }),
        });
        var (dogAgain, _) = await TurnAsync(client, new JsonObject
        {
            ["messages"] = new JsonArray(UserWith(dog.DeepClone().AsArray()), new JsonObject { ["role"] = "assistant", ["content"] = dogReply },
                new JsonObject { ["role"] = "user", ["content"] = "And its colour?" }),
        });

        Assert.NotEqual(withCat, withDog);
        Assert.Equal(withCat, catAgain);
        Assert.Equal(withDog, dogAgain);
    }

    [Fact]
    public async Task StoredPartsReachTheModelAgainWithTheStoredHistory()
    {
        await using var model = new FakeOpenAIServer();
        using var app = new JunisApp(model.Settings(), engine: engine);
        var client = app.CreateAuthorizedClient();
        var parts = Parts("data:image/png;base64,iVBORw0KGgo=");

        await TurnAsync(client, new JsonObject { ["messages"] = new JsonArray(UserWith(parts)), ["session_id"] = "photo-chat" });
        await TurnAsync(client, new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "And its colour?" }),
            ["session_id"] = "photo-chat",
        });

        var history = model.Requests[1].Body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], history.Select(m => (string)m!["role"]!));
        Assert.True(JsonNode.DeepEquals(parts, history[0]!["content"]), history[0]!.ToJsonString());
    }

    [Fact]
    public async Task ARefusalIsStoredAsARefusal()
    {
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, _) => context.Response.WriteAsync("""
                {"id":"chatcmpl-fake","object":"chat.completion","created":1,"model":"fake-model",
                 "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}
                """),
        };
        using var app = new JunisApp(model.Settings(), engine: engine);
        var client = app.CreateAuthorizedClient();

        using var response = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Help me pick a lock.") } });
        var message = (await response.ReadJsonAsync())["choices"]![0]!["message"]!;
        var session = response.Headers.GetValues("X-Session-Id").Single();
        var stored = (await (await client.GetAsync($"/api/external/sessions/{session}/messages")).ReadJsonAsync())["messages"]![1]!;

        Assert.Null(message["content"]);
        Assert.Equal("I can't help with that.", (string)message["refusal"]!);
        Assert.Null(stored["content"]);
        Assert.Equal("I can't help with that.", (string)stored["refusal"]!);
    }
}
