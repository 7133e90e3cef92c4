using Microsoft.Extensions.Options;

namespace Junis.Server.Llm;

public enum LlmProvider
{
    /// <summary>Built in, offline and deterministic: replies with a fixed function of the last user message.</summary>
    Echo,

    /// <summary>Any server speaking the OpenAI chat completions protocol (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp).</summary>
    OpenAI,
}

public sealed class LlmOptions
{
    public const string Section = "Junis:Llm";

    public LlmProvider Provider { get; set; } = LlmProvider.Echo;
    public string? BaseUrl { get; set; }
    public string? ApiKey { get; set; }
    public string? Model { get; set; }

    /// <summary>How long the model may stay silent (before its answer starts, or between two reads) before the call fails with 504.</summary>
    public int TimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// The request field that carries the caller's output token limit: OpenAI's <c>max_completion_tokens</c>
    /// (required by its reasoning models), or <c>max_tokens</c>, which Ollama and older servers read instead.
    /// </summary>
    public string MaxTokensField { get; set; } = MaxCompletionTokens;

    public const string MaxCompletionTokens = "max_completion_tokens";
    public const string MaxTokens = "max_tokens";

    /// <summary>
    /// The most of a model's answer, whole or streamed, read off the connection; past it the call fails with 502 and
    /// a stream keeps what it passed on as interrupted.
    /// </summary>
    public long MaxResponseBytes { get; set; } = 4 * 1024 * 1024;

    public const long MaxResponseBytesFloor = 64 * 1024;
    public const long MaxResponseBytesCeiling = 256 * 1024 * 1024;

    /// <summary>Retries of a failed model call before answering; clients (OpenAI SDKs, ElevenLabs) retry on their own.</summary>
    public int MaxRetries { get; set; }

    /// <summary>Echo only: the pause between streamed words, to imitate a real model.</summary>
    public int TokenDelayMs { get; set; }

    /// <summary>
    /// Providers (<see cref="ModelProviders"/>) tried in order when this one fails before its first words: it cannot be
    /// reached, times out, or answers 408, 429 or 5xx. The chain is this provider's: every call to it, an agent's included.
    /// </summary>
    public string[] Fallbacks { get; set; } = [];

    /// <summary>
    /// With <see cref="Fallbacks"/>, for streams: when the provider has said no words this many milliseconds after it
    /// was called, the next in the chain starts too, and whichever speaks first answers (the other is cancelled). 0: off.
    /// </summary>
    public int FirstTokenMs { get; set; }

    /// <summary>As a fallback's or a chain's first: after this many failures in a row, the provider is skipped for <see cref="BreakSeconds"/>.</summary>
    public int BreakAfterFailures { get; set; } = 5;

    /// <summary>How long a provider that keeps failing is skipped, before one call is let through to try it again.</summary>
    public int BreakSeconds { get; set; } = 30;
}

/// <summary>
/// Validates <c>Junis:Llm</c> (the unnamed options, the provider named <see cref="ModelProviders.Default"/>) and each
/// named provider, <c>Junis:Providers:{name}</c>, naming the key that is wrong.
/// </summary>
public sealed partial class LlmOptionsValidator(ModelProviders providers) : IValidateOptions<LlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmOptions options)
    {
        var section = string.IsNullOrEmpty(name) ? LlmOptions.Section : $"{ModelProviders.Section}:{name}";
        var errors = new List<string>();
        if (!string.IsNullOrEmpty(name) && name.Equals(ModelProviders.Default, StringComparison.OrdinalIgnoreCase))
            errors.Add($"{section}: the provider named {ModelProviders.Default} is {LlmOptions.Section}; configure it there.");
        else if (!string.IsNullOrEmpty(name) && !ProviderName().IsMatch(name))
            errors.Add($"{section}: a provider's name is 1 to 64 letters, digits, '-' or '_'.");
        if (options.Provider == LlmProvider.OpenAI)
        {
            if (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                errors.Add($"{section}:BaseUrl must be an absolute http(s) URL when {section}:Provider is OpenAI (e.g. https://api.openai.com/v1).");
            if (string.IsNullOrWhiteSpace(options.Model))
                errors.Add($"{section}:Model is required when {section}:Provider is OpenAI (e.g. gpt-4o-mini).");
        }
        if (options.MaxTokensField is not (LlmOptions.MaxCompletionTokens or LlmOptions.MaxTokens))
            errors.Add($"{section}:MaxTokensField must be {LlmOptions.MaxCompletionTokens} or {LlmOptions.MaxTokens}.");
        if (options.TimeoutSeconds is < 1 or > 3600)
            errors.Add($"{section}:TimeoutSeconds must be between 1 and 3600.");
        if (options.MaxResponseBytes is < LlmOptions.MaxResponseBytesFloor or > LlmOptions.MaxResponseBytesCeiling)
            errors.Add($"{section}:MaxResponseBytes must be between {LlmOptions.MaxResponseBytesFloor} (64 KiB) and {LlmOptions.MaxResponseBytesCeiling} (256 MiB).");
        if (options.MaxRetries is < 0 or > 5)
            errors.Add($"{section}:MaxRetries must be between 0 and 5.");
        if (options.TokenDelayMs is < 0 or > 10_000)
            errors.Add($"{section}:TokenDelayMs must be between 0 and 10000.");
        var self = string.IsNullOrEmpty(name) ? ModelProviders.Default : name;
        foreach (var fallback in options.Fallbacks)
        {
            if (!providers.Has(fallback))
                errors.Add($"{section}:Fallbacks names '{fallback}', which is not a provider: configure it as {ModelProviders.Section}:{fallback}, or name {ModelProviders.Default} for {LlmOptions.Section}.");
            else if (fallback == self)
                errors.Add($"{section}:Fallbacks names the provider itself.");
        }
        if (options.Fallbacks.Length > 10)
            errors.Add($"{section}:Fallbacks names at most 10 providers.");
        if (options.Fallbacks.Distinct(StringComparer.Ordinal).Count() != options.Fallbacks.Length)
            errors.Add($"{section}:Fallbacks names a provider twice.");
        if (options.FirstTokenMs is < 0 or > 600_000)
            errors.Add($"{section}:FirstTokenMs must be between 0 (off) and 600000.");
        if (options.BreakAfterFailures is < 2 or > 1000)
            errors.Add($"{section}:BreakAfterFailures must be between 2 and 1000.");
        if (options.BreakSeconds is < 1 or > 3600)
            errors.Add($"{section}:BreakSeconds must be between 1 and 3600.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex ProviderName();
}
