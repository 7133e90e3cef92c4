using Junis.Server.Llm;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Junis.Server.Tests.Llm;

/// <summary>Named model providers (<c>Junis:Providers:{name}</c>) beside <c>Junis:Llm</c>, the provider named default.</summary>
public sealed class ModelProvidersTests : IAsyncDisposable
{
    private readonly FakeOpenAIServer _fast = new();
    private readonly FakeOpenAIServer _smart = new();

    public async ValueTask DisposeAsync()
    {
        await _fast.DisposeAsync();
        await _smart.DisposeAsync();
    }

    private static Dictionary<string, string?> Provider(string name, FakeOpenAIServer server, string model) => new()
    {
        [$"Junis:Providers:{name}:Provider"] = "OpenAI",
        [$"Junis:Providers:{name}:BaseUrl"] = server.BaseUrl,
        [$"Junis:Providers:{name}:ApiKey"] = $"sk-{name}-secret",
        [$"Junis:Providers:{name}:Model"] = model,
    };

    [Fact]
    public async Task EachNamedProviderCallsItsOwnModelOverHttpAndTheDefaultStaysJunisLlm()
    {
        using var app = new JunisApp(new([.. Provider("fast", _fast, "fast-model"), .. Provider("smart", _smart, "smart-model")]));
        var providers = app.Services.GetRequiredService<ModelProviders>();

        var fast = await app.Services.GetRequiredKeyedService<IChatClient>("fast").GetResponseAsync("hello fast");
        var smart = await app.Services.GetRequiredKeyedService<IChatClient>("smart").GetResponseAsync("hello smart");
        var byDefault = await app.Services.GetRequiredKeyedService<IChatClient>(ModelProviders.Default).GetResponseAsync("hello default");
        var (_, chat) = await Sessions.SessionTestHelpers.TurnAsync(app.CreateAuthorizedClient(), new { messages = new[] { new { role = "user", content = "hi" } } });

        Assert.Equal(["default", "fast", "smart"], providers.Names);
        Assert.True(providers.Has("fast"));
        Assert.False(providers.Has("slow"));
        Assert.Equal(("Hello from the model", "Hello from the model"), (fast.Text, smart.Text));
        var fastRequest = Assert.Single(_fast.Requests);
        var smartRequest = Assert.Single(_smart.Requests);
        Assert.Equal(("fast-model", "Bearer sk-fast-secret"), ((string?)fastRequest.Body["model"], fastRequest.Authorization));
        Assert.Equal(("smart-model", "Bearer sk-smart-secret"), ((string?)smartRequest.Body["model"], smartRequest.Authorization));
        // Junis:Llm, the default, is still the built-in Echo model, for chat completions too.
        Assert.Equal("Echo: hello default", byDefault.Text);
        Assert.Equal("Echo: hi", chat);
    }
}
