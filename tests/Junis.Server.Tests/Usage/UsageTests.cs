using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Auth;
using Junis.Server.Tests.Agents;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Junis.Server.Tests.Usage;

/// <summary>
/// The usage ledger holds the turns actually run: requests, tokens (as each answer reported them), errors and time to
/// first token, per key and day, read through <c>GET /usage</c> by a key holding <c>admin:read</c>, on each engine.
/// </summary>
public sealed class UsageTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly FakeOpenAIServer _model = new();
    private bool _failNext;

    public Task InitializeAsync()
    {
        _model.Handler = (context, body) =>
        {
            if (!_failNext)
                return FakeOpenAIServer.StreamAsync(context, body, ["Hello", " from", " the", " model"], usage: (11, 4));
            _failNext = false;
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return Task.CompletedTask;
        };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _model.DisposeAsync();

    private JunisApp Start(Engine engine) => new(_model.Settings(), engine: engine);

    /// <summary>The report once it counts <paramref name="requests"/> requests: the ledger is written a moment after the answers.</summary>
    private static async Task<JsonNode> ReportAsync(HttpClient admin, string query, long requests)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await admin.GetAsync($"/api/external/usage{query}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var report = await response.ReadJsonAsync();
            if ((long)report["total"]!["requests"]! >= requests || clock.Elapsed > Patience)
                return report;
            await Task.Delay(100);
        }
    }

    private static async Task<(long Prompt, long Completion)> WholeAsync(HttpClient client, string path = Api.Completions)
    {
        using var response = await client.PostAsync(path, Api.Json(new { messages = new[] { Api.UserMessage($"Hello {Guid.NewGuid()}") } }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var usage = (await response.ReadJsonAsync())["usage"]!;
        return ((long)usage["prompt_tokens"]!, (long)usage["completion_tokens"]!);
    }

    private static async Task<(long Prompt, long Completion)> StreamedAsync(HttpClient client)
    {
        var (response, events, broken) = await client.StreamAsync(new
        {
            messages = new[] { Api.UserMessage($"Hello {Guid.NewGuid()}") },
            stream = true,
            stream_options = new { include_usage = true },
        });
        using var _ = response;
        Assert.Null(broken);
        var usage = events.Chunks().Last(c => c["usage"] is JsonObject)["usage"]!;
        return ((long)usage["prompt_tokens"]!, (long)usage["completion_tokens"]!);
    }

    [Theory, Engines]
    public async Task TheLedgerHoldsTheTurnsRunByKeyAndDay(Engine engine)
    {
        using var app = Start(engine);
        var first = app.CreateAuthorizedClient();
        var second = app.CreateAuthorizedClient(await app.CreateKeyAsync(BootstrapKey.OrganizationName, [.. Scopes.All]));
        var admin = app.CreateAuthorizedClient(await app.CreateKeyAsync(BootstrapKey.OrganizationName, Scopes.AdminRead));

        var firstUsage = new List<(long Prompt, long Completion)> { await WholeAsync(first), await WholeAsync(first), await StreamedAsync(first) };
        var secondUsage = new List<(long Prompt, long Completion)> { await StreamedAsync(second), await WholeAsync(second) };
        _failNext = true;
        using (var failed = await second.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Will this fail?") } }))
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);

        var byKey = await ReportAsync(admin, "?group_by=key", requests: 6);
        var lines = byKey["data"]!.AsArray();
        Assert.Equal(2, lines.Count);
        var firstLine = lines.Single(l => JunisApp.Key.StartsWith((string)l!["key_prefix"]!, StringComparison.Ordinal))!;
        var secondLine = lines.Single(l => l != firstLine)!;
        Assert.Equal((3L, 0L, firstUsage.Sum(u => u.Prompt), firstUsage.Sum(u => u.Completion)),
            ((long)firstLine["requests"]!, (long)firstLine["errors"]!, (long)firstLine["prompt_tokens"]!, (long)firstLine["completion_tokens"]!));
        Assert.Equal((3L, 1L, secondUsage.Sum(u => u.Prompt), secondUsage.Sum(u => u.Completion)),
            ((long)secondLine["requests"]!, (long)secondLine["errors"]!, (long)secondLine["prompt_tokens"]!, (long)secondLine["completion_tokens"]!));
        // Whole milliseconds: a fake model this fast may answer in less than one.
        Assert.InRange((double)firstLine["avg_time_to_first_token_ms"]!, 0, 10_000);

        var byDay = await ReportAsync(admin, "", requests: 6);
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var day = Assert.Single(byDay["data"]!.AsArray())!;
        Assert.Equal((today, 6L, 1L), ((string?)day["day"], (long)day["requests"]!, (long)day["errors"]!));
        Assert.Equal(firstUsage.Concat(secondUsage).Sum(u => u.Prompt + u.Completion), (long)byDay["total"]!["total_tokens"]!);
        var monthBefore = DateTime.UtcNow.AddDays(-29).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((monthBefore, today, "day"), ((string?)byDay["from"], (string?)byDay["to"], (string?)byDay["group_by"]));
    }

    [Theory, Engines]
    public async Task TheLedgerHoldsEachAgentsTurns(Engine engine)
    {
        using var app = Start(engine);
        var client = app.CreateAuthorizedClient();
        var admin = app.CreateAuthorizedClient(await app.CreateKeyAsync(BootstrapKey.OrganizationName, Scopes.AdminRead));
        // Before the organization has agents, the server's own orchestrator answers: no agent.
        var noAgent = await WholeAsync(client);
        var front = AgentScripts.LlmAgent("front");
        front.IsOrchestrator = true;
        var ids = await AgentScripts.StoreAsync(app, [front, AgentScripts.LlmAgent("billing")]);
        var byFront = new[] { await WholeAsync(client), await WholeAsync(client) };
        var byBilling = await WholeAsync(client, DirectInvocation.PathOf(ids["billing"]));

        var report = await ReportAsync(admin, "?group_by=agent", requests: 4);

        var lines = report["data"]!.AsArray().Select(l => ((string?)l!["agent"], (long)l["requests"]!, (long)l["prompt_tokens"]!, (long)l["completion_tokens"]!));
        Assert.Equal(
            [(null, 1L, noAgent.Prompt, noAgent.Completion), ("billing", 1L, byBilling.Prompt, byBilling.Completion),
             ("front", 2L, byFront.Sum(u => u.Prompt), byFront.Sum(u => u.Completion))],
            lines);
        Assert.Equal("agent", (string?)report["group_by"]);
    }

    [Theory, Engines]
    public async Task AnotherOrganizationsUsageIsNotSeen(Engine engine)
    {
        using var app = Start(engine);
        await WholeAsync(app.CreateAuthorizedClient());
        var ours = app.CreateAuthorizedClient(await app.CreateKeyAsync(BootstrapKey.OrganizationName, Scopes.AdminRead));
        var theirs = app.CreateAuthorizedClient(await app.CreateKeyAsync("other", Scopes.AdminRead));

        Assert.Equal(1L, (long)(await ReportAsync(ours, "", requests: 1))["total"]!["requests"]!);
        using var response = await theirs.GetAsync("/api/external/usage");
        var report = await response.ReadJsonAsync();

        Assert.Empty(report["data"]!.AsArray());
        Assert.Equal(0L, (long)report["total"]!["requests"]!);
    }

    [Theory]
    [InlineData("?group_by=week", "group_by")]
    [InlineData("?from=2026-13-01", "from")]
    [InlineData("?to=yesterday", "to")]
    [InlineData("?from=2026-12-07&to=2026-12-01", "from")]
    [InlineData("?from=2024-01-01&to=2026-01-01", "from")]
    public async Task AQuestionItCannotAnswerIsRefusedNamingTheParameter(string query, string param)
    {
        using var app = Start(Engine.Sqlite);
        var admin = app.CreateAuthorizedClient(await app.CreateKeyAsync(BootstrapKey.OrganizationName, Scopes.AdminRead));

        using var response = await admin.GetAsync($"/api/external/usage{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, (string?)(await response.ReadJsonAsync())["error"]!["param"]);
    }

    [Fact]
    public async Task AKeyWithoutAdminReadIsRefused()
    {
        using var app = Start(Engine.Sqlite);

        using var response = await app.CreateAuthorizedClient().GetAsync("/api/external/usage");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(Scopes.AdminRead, (string?)(await response.ReadJsonAsync())["error"]!["message"]);
    }
}
