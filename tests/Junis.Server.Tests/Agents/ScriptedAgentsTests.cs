using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// The base of the tests of agents at work: the server on a real socket, on one engine, its model a scripted fake over
/// real HTTP. A class adds its settings in <see cref="Configure"/> and stores the agents all its tests share in
/// <see cref="SeedAsync"/>.
/// </summary>
public abstract class ScriptedAgentsTests(Engine engine = Engine.Sqlite) : IAsyncLifetime
{
    protected FakeOpenAIServer Model { get; } = new();

    protected JunisApp App { get; private set; } = null!;

    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    protected virtual Task SeedAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        var settings = Model.Settings();
        Configure(settings);
        App = new JunisApp(settings, engine: engine);
        App.UseKestrel();
        App.StartServer();
        await SeedAsync();
    }

    public virtual async Task DisposeAsync()
    {
        await App.DisposeAsync();
        await Model.DisposeAsync();
    }
}
