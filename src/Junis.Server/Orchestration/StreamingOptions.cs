using Microsoft.Extensions.Options;

namespace Junis.Server.Orchestration;

/// <summary><c>Junis:Streaming</c>: words to say while a slow model thinks, so a voice agent does not fall silent.</summary>
public sealed class StreamingOptions
{
    public const string Section = "Junis:Streaming";

    /// <summary>Sent as the first content of a stream when the model has said nothing after <see cref="BufferAfterMs"/>; off when empty.</summary>
    public string? BufferWords { get; set; }

    public int BufferAfterMs { get; set; } = 1000;
}

public sealed class StreamingOptionsValidator : IValidateOptions<StreamingOptions>
{
    public ValidateOptionsResult Validate(string? name, StreamingOptions options)
    {
        // ElevenLabs: the space keeps the next words from running into the ellipsis, which distorts the audio.
        if (!string.IsNullOrEmpty(options.BufferWords) && !(options.BufferWords.EndsWith("... ", StringComparison.Ordinal) || options.BufferWords.EndsWith("… ", StringComparison.Ordinal)))
            return ValidateOptionsResult.Fail($"{StreamingOptions.Section}:BufferWords must end in an ellipsis and a space, like \"Let me check... \".");
        if (options.BufferAfterMs is < 0 or > 60_000)
            return ValidateOptionsResult.Fail($"{StreamingOptions.Section}:BufferAfterMs must be between 0 and 60000.");
        return ValidateOptionsResult.Success;
    }
}
