using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Sessions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Chat;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// A one-message request whose model call failed, sent again by its client (the OpenAI SDKs retry a 5xx twice), continues
/// the session the failed attempt left holding only the user's message: one session, the message once, then the reply.
/// Never a session that got a reply, one another key made, or one that failed minutes ago. Over real HTTP, against a
/// model server that fails when told to.
/// </summary>
public abstract class RetriedFirstTurnTests : IAsyncLifetime
{
    public sealed class OnSqlite() : RetriedFirstTurnTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : RetriedFirstTurnTests(Engine.PostgreSql);

    private readonly Engine _engine;
    private readonly FakeOpenAIServer _model = new();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private int _failures;
    private JunisApp _app = null!;
    private HttpClient _client = null!;

    protected RetriedFirstTurnTests(Engine engine) => _engine = engine;

    public Task InitializeAsync()
    {
        _model.Handler = AnswerAsync;
        _app = new JunisApp(_model.Settings(), services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock)), _engine);
        _app.UseKestrel();
        _app.StartServer();
        _client = _app.CreateAuthorizedClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _model.DisposeAsync();
    }

    /// <summary>A 500 while failures are owed, else "Hello there".</summary>
    private Task AnswerAsync(HttpContext context, JsonObject body) => Interlocked.Decrement(ref _failures) >= 0
        ? FakeOpenAIServer.ErrorAsync(context, 500, "The server had an error while processing your request.", "server_error")
        : FakeOpenAIServer.StreamAsync(context, body, ["Hello", " there"]);

    private static object Hello => new { messages = Conversation(("user", "hello")) };

    /// <summary>A lone "hello" whose model call fails; the session it was given.</summary>
    private async Task<Guid> FailAsync(HttpClient client)
    {
        Interlocked.Exchange(ref _failures, 1);
        using var response = await client.PostCompletionAsync(Hello);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        return Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
    }

    private async Task<string[]> TranscriptAsync(Guid session) => (await _app.MessagesAsync(session)).Transcript();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFailedLoneMessageSentAgainContinuesItsSession(bool stream)
    {
        var failed = await FailAsync(_client);
        _clock.Advance(TimeSpan.FromSeconds(1));
        using var retry = await _client.PostCompletionAsync(new { messages = Conversation(("user", "hello")), stream });

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(failed, Guid.Parse(retry.Headers.GetValues("X-Session-Id").Single()));
        var session = Assert.Single(await _app.SessionsAsync());
        Assert.Equal(["user:hello", "assistant:Hello there"], await TranscriptAsync(session.Id));
        Assert.Equal(2, session.MessageCount);
        Assert.Equal(2, session.LastReplySequence);
    }

    [Fact]
    public async Task TheOpenAISdkRetryingAFailedFirstTurnLeavesOneSession()
    {
        var options = OfficialClient.Options(_app);
        options.RetryPolicy = new ClientRetryPolicy(maxRetries: 2);
        var chat = new ChatClient("junis-orchestrator", new ApiKeyCredential(JunisApp.Key), options);
        Interlocked.Exchange(ref _failures, 2);

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hello")]);

        Assert.Equal("Hello there", completion.Content[0].Text);
        Assert.Equal(3, _model.Requests.Count);
        var session = Assert.Single(await _app.SessionsAsync());
        Assert.Equal(["user:hello", "assistant:Hello there"], await TranscriptAsync(session.Id));
    }

    [Fact]
    public async Task TheSameLoneMessageFromAnotherKeyIsAnotherSession()
    {
        var organization = await _app.QueryAsync(db => db.Organizations.Select(o => o.Name).SingleAsync());
        using var other = _app.CreateAuthorizedClient(await _app.CreateKeyAsync(organization));
        var failed = await FailAsync(_client);

        var (theirs, _) = await other.TurnAsync(Hello);
        var (retried, _) = await _client.TurnAsync(Hello);

        Assert.NotEqual(failed, theirs);
        Assert.Equal(failed, retried);
        Assert.Equal(["user:hello", "assistant:Hello there"], await TranscriptAsync(theirs));
        Assert.Equal(["user:hello", "assistant:Hello there"], await TranscriptAsync(failed));
        Assert.Equal(2, (await _app.SessionsAsync()).Count);
    }

    [Fact]
    public async Task TheSameLoneMessageAfterAReplyIsANewSession()
    {
        var failed = await FailAsync(_client);
        var (retried, _) = await _client.TurnAsync(Hello);
        var (again, _) = await _client.TurnAsync(Hello);

        Assert.Equal(failed, retried);
        Assert.NotEqual(failed, again);
        Assert.Equal(["user:hello", "assistant:Hello there"], await TranscriptAsync(failed));
        Assert.Equal(["user:hello", "assistant:Hello there"], await TranscriptAsync(again));
    }

    [Fact]
    public async Task TheSameLoneMessageLongAfterAFailureIsANewSession()
    {
        var failed = await FailAsync(_client);
        _clock.Advance(SessionResolver.RetryWindow + TimeSpan.FromSeconds(1));

        var (later, _) = await _client.TurnAsync(Hello);

        Assert.NotEqual(failed, later);
        Assert.Equal(["user:hello"], await TranscriptAsync(failed));
        Assert.Equal(["user:hello", "assistant:Hello there"], await TranscriptAsync(later));
    }
}
