namespace Junis.Server.Llm;

/// <summary>
/// The models the server can call, each by a name: <c>Junis:Llm</c> as <see cref="Default"/>, and every section of
/// <c>Junis:Providers</c> (which holds what <c>Junis:Llm</c> holds) under its own. Each is an <c>IChatClient</c> keyed
/// by its name; secrets stay in configuration and the environment.
/// </summary>
public sealed class ModelProviders(IReadOnlyList<string> names)
{
    public const string Section = "Junis:Providers";
    public const string Default = "default";

    /// <summary>Every provider's name, <see cref="Default"/> first.</summary>
    public IReadOnlyList<string> Names { get; } = names;

    public bool Has(string name) => Names.Contains(name, StringComparer.Ordinal);

    /// <summary>The providers <paramref name="configuration"/> names, <see cref="Default"/> first.</summary>
    public static ModelProviders In(IConfiguration configuration) =>
        new([Default, .. configuration.GetSection(Section).GetChildren().Select(c => c.Key)]);
}
