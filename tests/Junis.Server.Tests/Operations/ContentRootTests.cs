using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Outcome = Junis.Server.Tests.Infrastructure.ServerProcess.Outcome;

namespace Junis.Server.Tests.Operations;

/// <summary>
/// The built server, started as <c>dotnet …/Junis.Server.dll</c>, reads the appsettings.json beside it whatever
/// folder it starts in, or the one in a content root given; where there is none it refuses to start.
/// </summary>
public sealed class ContentRootTests(ContentRootTests.Deployments deployments) : IClassFixture<ContentRootTests.Deployments>, IDisposable
{
    private const string DeployedModel = "deployed-orchestrator";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Two copies of the built server: one with settings that name <see cref="DeployedModel"/>, one with none.</summary>
    public sealed class Deployments : IDisposable
    {
        public ServerDeployment Configured { get; } = new(WithModelName(DeployedModel));
        public ServerDeployment Unconfigured { get; } = new(settings: null);

        public void Dispose()
        {
            Configured.Dispose();
            Unconfigured.Dispose();
        }
    }

    private readonly string _elsewhere = Directory.CreateTempSubdirectory("junis-elsewhere-").FullName;
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"junis-root-{Guid.NewGuid():N}.db");

    [Theory]
    [InlineData("its own folder")]
    [InlineData("the repository root")]
    [InlineData("an unrelated folder")]
    public async Task TheSettingsBesideTheServerAreReadWhateverFolderItStartsIn(string startedIn)
    {
        await using var server = await RunningServer.StartAsync([], Settings(), deployments.Configured.Folder, Folder(startedIn));

        Assert.Equal(DeployedModel, await ModelNameAsync(server));
    }

    [Fact]
    public async Task TheSettingsInAContentRootGivenAreReadInstead()
    {
        ServerDeployment.WriteSettings(_elsewhere, WithModelName("given-orchestrator"));
        await using var server = await RunningServer.StartAsync(["--contentRoot", _elsewhere], Settings(),
            deployments.Configured.Folder, Repository.Root);

        Assert.Equal("given-orchestrator", await ModelNameAsync(server));
    }

    [Fact]
    public async Task TheDefaultDatabaseIsStillCreatedInTheFolderTheServerStartsIn()
    {
        var settings = Settings();
        settings["ConnectionStrings__Junis"] = null; // the default, Data Source=junis.db
        await using (await RunningServer.StartAsync([], settings, deployments.Configured.Folder, _elsewhere))
        {
        }

        Assert.True(File.Exists(Path.Combine(_elsewhere, "junis.db")));
        Assert.False(File.Exists(Path.Combine(deployments.Configured.Folder, "junis.db")));
    }

    [Theory]
    [InlineData("an unrelated folder")]
    [InlineData("the repository root")]
    public async Task WithoutSettingsBesideTheServerItRefusesToStartSayingWhereItLooked(string startedIn)
    {
        var outcome = await ServerProcess.RunAsync(["--urls", "http://127.0.0.1:0"], Settings(), Timeout,
            deployments.Unconfigured.Folder, Folder(startedIn));

        Assert.NotEqual(0, outcome.ExitCode);
        var message = Assert.Single(outcome.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"Junis.Server did not start: no appsettings.json in {deployments.Unconfigured.Folder}", message);
    }

    [Fact]
    public async Task AContentRootGivenWithoutSettingsIsRefusedToo()
    {
        var byVariable = Settings();
        byVariable["ASPNETCORE_CONTENTROOT"] = _elsewhere;

        Outcome[] outcomes =
        [
            await ServerProcess.RunAsync(["--urls", "http://127.0.0.1:0", "--contentRoot", _elsewhere], Settings(), Timeout,
                deployments.Configured.Folder, Repository.Root),
            await ServerProcess.RunAsync(["--urls", "http://127.0.0.1:0"], byVariable, Timeout,
                deployments.Configured.Folder, Repository.Root),
        ];

        Assert.All(outcomes, outcome =>
        {
            Assert.NotEqual(0, outcome.ExitCode);
            Assert.Contains($"no appsettings.json in {_elsewhere} (the content root given)", outcome.Output);
        });
    }

    private string Folder(string startedIn) => startedIn switch
    {
        "its own folder" => deployments.Configured.Folder,
        "the repository root" => Repository.Root,
        "an unrelated folder" => _elsewhere,
        _ => throw new ArgumentOutOfRangeException(nameof(startedIn)),
    };

    private Dictionary<string, string?> Settings() => new()
    {
        ["ConnectionStrings__Junis"] = $"Data Source={_database}",
        ["Junis__Auth__BootstrapKey"] = JunisApp.Key,
    };

    private static JsonObject WithModelName(string name)
    {
        var settings = ServerDeployment.ShippedSettings();
        settings["Junis"]!["Orchestrator"]!["ModelName"] = name;
        return settings;
    }

    private static async Task<string> ModelNameAsync(RunningServer server)
    {
        using var response = await server.Client.GetAsync("/api/external/v1/models");
        response.EnsureSuccessStatusCode();
        return (string)(await response.ReadJsonAsync())["data"]![0]!["id"]!;
    }

    public void Dispose()
    {
        Directory.Delete(_elsewhere, recursive: true);
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }
}
