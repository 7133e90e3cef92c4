using Microsoft.Extensions.Options;

namespace Junis.Server.Orchestration;

/// <summary>
/// <c>Junis:Tools</c>: the keyword detectors. Each watches the assistant's reply for its phrases and, when one
/// is said, calls the first of its tool names that the request offers.
/// </summary>
public sealed class KeywordToolOptions
{
    public const string Section = "Junis:Tools";
    public const string EndCall = "end_call";
    public const string TransferCall = "transfer_call";

    public Dictionary<string, KeywordDetector> Keywords { get; set; } = [];

    /// <summary>The seed's phrase lists, for a configuration that names none.</summary>
    public static Dictionary<string, KeywordDetector> Defaults() => new()
    {
        [EndCall] = new() { Phrases = ["안녕히", "감사합니다", "goodbye"], ToolNames = [EndCall], Priority = 1 },
        [TransferCall] = new() { Phrases = ["상담원 연결", "전화 연결", "connect agent"], ToolNames = [TransferCall, "transfer_to_number", "transfer_to_agent"], Priority = 2 },
    };
}

public sealed class KeywordDetector
{
    public List<string> Phrases { get; set; } = [];

    /// <summary>The request tool names this detector serves, in order of preference.</summary>
    public List<string> ToolNames { get; set; } = [];

    /// <summary>When several detectors hear their phrases in one reply, the highest priority calls its tool (transfer wins over a closing "thank you").</summary>
    public int Priority { get; set; }
}

public sealed class KeywordToolOptionsSetup : IPostConfigureOptions<KeywordToolOptions>, IValidateOptions<KeywordToolOptions>
{
    public void PostConfigure(string? name, KeywordToolOptions options)
    {
        if (options.Keywords.Count == 0)
            options.Keywords = KeywordToolOptions.Defaults();
    }

    public ValidateOptionsResult Validate(string? name, KeywordToolOptions options)
    {
        var errors = options.Keywords
            .Where(d => d.Value.Phrases.Count == 0 || d.Value.Phrases.Any(string.IsNullOrWhiteSpace)
                || d.Value.ToolNames.Count == 0 || d.Value.ToolNames.Any(string.IsNullOrWhiteSpace))
            .Select(d => $"{KeywordToolOptions.Section}:Keywords:{d.Key} needs phrases and tool names, none of them empty.")
            .ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
