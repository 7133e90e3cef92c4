using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Sessions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;
using static Junis.Server.Tests.Sessions.StoreComparison;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// A reply of agents keeps the name of the agent whose words the caller received and the steps before them, on every
/// store and engine, and the Sessions API shows both; a message of no agent shows neither.
/// </summary>
public sealed class AgentStepsInSessionsTests
{
    private static readonly AgentStep[] Steps =
    [
        new("support", "Let me pass you to billing.", [new StoredToolCall("call_1", "transfer_to_agent", """{"agent_name":"billing"}""")]),
        new("drafter", "환불 안내 초안", OutputKey: "draft"),
        new("reviewer", null),
    ];

    // The column's text and the API's array: words always written, calls and output keys only when there were some.
    private const string StepsJson =
        """[{"agent":"support","content":"Let me pass you to billing.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"transfer_to_agent","arguments":"{\"agent_name\":\"billing\"}"}}]},""" +
        """{"agent":"drafter","content":"환불 안내 초안","output_key":"draft"},{"agent":"reviewer","content":null}]""";

    private static StoredMessage Reply(string text, string? agent, IReadOnlyList<AgentStep>? steps) =>
        new("assistant", text) { Agent = agent, AgentSteps = steps };

    /// <summary>The organization and key of the conversation an ordinary request started.</summary>
    private static async Task<TurnOwner> OwnerAsync(JunisApp app, string conversation)
    {
        var session = Assert.Single(await app.SessionsAsync(), s => s.ConversationId == conversation);
        return new TurnOwner(session.OrganizationId, session.ApiKeyId!.Value, conversation);
    }

    /// <summary>
    /// Stores a turn as a request answered by agents would: found by the server's resolver, written by its turn writer.
    /// Requests do not carry agents' replies yet, so the turn is handed to the writer directly.
    /// </summary>
    private static async Task<Guid> WriteTurnAsync(JunisApp app, TurnOwner owner, StoredMessage reply, params (string Role, string Text)[] messages)
    {
        var turn = await app.Services.GetRequiredService<SessionResolver>()
            .ResolveAsync(owner, [.. messages.Select(m => new ChatMessage(new ChatRole(m.Role), m.Text))]);
        await app.Services.GetRequiredService<TurnWriter>().WriteAsync(turn, new TurnOutcome(reply, "stop", new TokenUsage(12, 5)));
        return turn.SessionId;
    }

    private static async Task<JsonArray> MessagesAsync(HttpClient client, Guid session)
    {
        using var response = await client.GetAsync($"/api/external/sessions/{session}/messages");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["messages"]!.AsArray();
    }

    private static void AssertNoAgent(JsonNode? message)
    {
        Assert.False(message!.AsObject().ContainsKey("agent"), message.ToJsonString());
        Assert.False(message.AsObject().ContainsKey("agent_steps"), message.ToJsonString());
    }

    [Theory, Engines]
    public async Task AReplyOfAgentsShowsWhoSpokeAndTheStepsBeforeItWhileOtherMessagesShowNeither(Engine engine)
    {
        using var app = new JunisApp(engine: engine);
        var client = app.CreateAuthorizedClient();
        var (session, _) = await client.TurnAsync(NamedTurn("session_id", "refunds", "Hello"));
        var owner = await OwnerAsync(app, "refunds");

        Assert.Equal(session, await WriteTurnAsync(app, owner, Reply("Your refund is on its way.", "billing", Steps), ("user", "Refund my last invoice")));
        var messages = await MessagesAsync(client, session);
        var stored = (await app.MessagesAsync(session))[^1];

        Assert.Equal(["user", "assistant", "user", "assistant"], messages.Select(m => (string)m!["role"]!));
        foreach (var message in messages.Take(3))
            AssertNoAgent(message);
        var reply = messages[3]!;
        Assert.Equal("Your refund is on its way.", (string?)reply["content"]);
        Assert.Equal("billing", (string?)reply["agent"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(StepsJson), reply["agent_steps"]), reply.ToJsonString());
        // In the order written, text as UTF-8: the column is the API's array as it stands.
        Assert.Equal(StepsJson, reply["agent_steps"]!.ToJsonString(new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        Assert.Equal(("billing", StepsJson), (stored.Agent, stored.AgentSteps));
    }

    [Theory, Engines]
    public async Task AnAgentThatTookNoStepsBeforeItsReplyShowsItsNameAlone(Engine engine)
    {
        using var app = new JunisApp(engine: engine);
        var client = app.CreateAuthorizedClient();
        var (session, _) = await client.TurnAsync(NamedTurn("session_id", "direct", "Hello"));
        var owner = await OwnerAsync(app, "direct");

        await WriteTurnAsync(app, owner, Reply("Hi, support here.", "support", []), ("user", "Anyone there?"));
        var reply = (await MessagesAsync(client, session))[3]!;
        var stored = (await app.MessagesAsync(session))[^1];

        Assert.Equal("support", (string?)reply["agent"]);
        Assert.False(reply.AsObject().ContainsKey("agent_steps"), reply.ToJsonString());
        Assert.Equal(("support", (string?)null), (stored.Agent, stored.AgentSteps));
    }

    [Fact]
    public void StepsReadBackAsTheyWereWritten()
    {
        var parsed = StoredAgentSteps.Parse(StoredAgentSteps.Serialize(Steps));

        Assert.Equal(StepsJson, System.Text.Json.JsonSerializer.Serialize(parsed, SessionsJson.ForResults.ListAgentStepView));
        Assert.Null(StoredAgentSteps.Serialize(null));
        Assert.Null(StoredAgentSteps.Serialize([]));
        Assert.Empty(StoredAgentSteps.Parse(null));
    }

    [Fact]
    public async Task EveryStoreKeepsAgentsAndTheirStepsAlike()
    {
        var kept = await AssertEveryStoreKeepsAlikeAsync(async run =>
        {
            await run.SendAsync(NamedTurn("session_id", "refunds", "Hello"));
            var owner = await OwnerAsync(run.App, "refunds");
            async Task Write(TurnOwner who, StoredMessage reply, params (string, string)[] messages)
            {
                run.Tick();
                run.Seen.Add($"WRITE session={await WriteTurnAsync(run.App, who, reply, messages)} agent={reply.Agent}");
            }

            // A named conversation continued with its newest message; then an unnamed one started, continued, and the
            // continuation replayed, its reply (agents and all) replaced.
            await Write(owner, Reply("Your refund is on its way.", "billing", Steps), ("user", "Refund my last invoice"));
            var unnamed = owner with { ConversationId = null };
            await Write(unnamed, Reply("It left Seoul today.", "tracking", [Steps[0] with { Agent = "triage" }]), ("user", "Where is my parcel?"));
            (string, string)[] next = [("user", "Where is my parcel?"), ("assistant", "It left Seoul today."), ("user", "And the other one?")];
            await Write(unnamed, Reply("Still packing.", "tracking", Steps), next);
            await Write(unnamed, Reply("Packed, leaving tomorrow.", "support", null), next);
        });

        string[] messages = [.. kept.Where(line => line.StartsWith("SessionMessages: ", StringComparison.Ordinal))];
        Assert.Equal(8, messages.Length);
        Assert.Equal(5, messages.Count(line => line.Contains("Agent=NULL AgentSteps=NULL", StringComparison.Ordinal)));
        Assert.Contains(messages, line => line.Contains($"Agent='billing' AgentSteps='{StepsJson.Replace("'", "''", StringComparison.Ordinal)}'", StringComparison.Ordinal));
        Assert.Contains(messages, line => line.Contains("Content='Packed, leaving tomorrow.'", StringComparison.Ordinal) && line.Contains("Agent='support' AgentSteps=NULL", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, line => line.Contains("Still packing.", StringComparison.Ordinal));
        Assert.Contains(kept, line => line.StartsWith("GET /sessions/", StringComparison.Ordinal) && line.Contains("\"agent\":\"triage\"", StringComparison.Ordinal));
    }
}
