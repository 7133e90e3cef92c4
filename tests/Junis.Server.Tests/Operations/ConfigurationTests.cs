using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Operations;

/// <summary>Invalid configuration stops the server at start-up with a message naming the key.</summary>
public sealed class ConfigurationTests : IDisposable
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"junis-config-{Guid.NewGuid():N}.db");

    private Task<ServerProcess.Outcome> StartAsync(Dictionary<string, string?> settings)
    {
        settings["ConnectionStrings__Junis"] = $"Data Source={_database}";
        return ServerProcess.RunAsync(["--urls", "http://127.0.0.1:0"], settings, TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("Junis__Llm__Provider", "OpenAI", "Junis:Llm:BaseUrl")]
    [InlineData("Junis__Llm__Provider", "Gemini", "Junis:Llm:Provider")]
    [InlineData("Junis__Llm__TimeoutSeconds", "0", "Junis:Llm:TimeoutSeconds")]
    [InlineData("Junis__Llm__MaxTokensField", "max_output_tokens", "Junis:Llm:MaxTokensField")]
    [InlineData("Junis__Llm__MaxResponseBytes", "1000", "Junis:Llm:MaxResponseBytes")]
    [InlineData("Junis__Providers__fast__MaxResponseBytes", "1073741824", "Junis:Providers:fast:MaxResponseBytes")]
    [InlineData("Junis__Providers__fast__Provider", "OpenAI", "Junis:Providers:fast:BaseUrl")]
    [InlineData("Junis__Providers__fast__TimeoutSeconds", "0", "Junis:Providers:fast:TimeoutSeconds")]
    [InlineData("Junis__Providers__default__Provider", "Echo", "Junis:Providers:default: the provider named default is Junis:Llm")]
    [InlineData("Junis__Providers__fast.one__Provider", "Echo", "Junis:Providers:fast.one: a provider's name")]
    [InlineData("Junis__Llm__Fallbacks__0", "backup", "Junis:Llm:Fallbacks names 'backup', which is not a provider")]
    [InlineData("Junis__Llm__Fallbacks__0", "default", "Junis:Llm:Fallbacks names the provider itself")]
    [InlineData("Junis__Llm__FirstTokenMs", "-1", "Junis:Llm:FirstTokenMs")]
    [InlineData("Junis__Llm__BreakAfterFailures", "1", "Junis:Llm:BreakAfterFailures")]
    [InlineData("Junis__Providers__fast__BreakSeconds", "0", "Junis:Providers:fast:BreakSeconds")]
    [InlineData("Junis__Auth__BootstrapKey", "not-a-key", "Junis:Auth:BootstrapKey")]
    [InlineData("Junis__Auth__BootstrapKey", "jns_live_DevelopmentKeyForLocalUseOnly000", "Junis:Auth:BootstrapKey")]
    [InlineData("Junis__Orchestrator__ModelName", "", "Junis:Orchestrator:ModelName")]
    [InlineData("Junis__Limits__MaxRequestBodyBytes", "10", "Junis:Limits:MaxRequestBodyBytes")]
    [InlineData("Junis__Limits__MaxChoices", "0", "Junis:Limits:MaxChoices")]
    [InlineData("Junis__Streaming__BufferWords", "Let me check", "Junis:Streaming:BufferWords")]
    [InlineData("Junis__Tools__Keywords__end_call__ToolNames__0", "", "Junis:Tools:Keywords:end_call")]
    [InlineData("Junis__Sessions__IdleMinutes", "0", "Junis:Sessions:IdleMinutes")]
    [InlineData("Junis__RateLimits__DefaultPerMinute", "0", "Junis:RateLimits:DefaultPerMinute")]
    [InlineData("Junis__Metrics__Port", "70000", "Junis:Metrics:Port")]
    [InlineData("Junis__ShutdownSeconds", "-1", "Junis:ShutdownSeconds")]
    [InlineData("Junis__ShutdownSeconds", "601", "Junis:ShutdownSeconds")]
    [InlineData("Junis__ForwardedHeaders__KnownProxies__0", "proxy.internal", "Junis:ForwardedHeaders:KnownProxies")]
    [InlineData("Junis__ForwardedHeaders__KnownNetworks__0", "10.0.0.0/33", "Junis:ForwardedHeaders:KnownNetworks")]
    public async Task InvalidSettingFailsAtStartNamingTheKey(string variable, string value, string named)
    {
        var outcome = await StartAsync(new() { [variable] = value });

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains(named, outcome.Output);
    }

    public void Dispose()
    {
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }
}
