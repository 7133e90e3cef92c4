using System.Collections.Concurrent;

namespace Junis.Server.Logging;

/// <summary>A logger factory that makes each category's logger once and hands out that one ever after.</summary>
internal sealed class OneLoggerPerCategory(ILoggerFactory factory) : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (name, factory) => factory.CreateLogger(name), factory);

    public void AddProvider(ILoggerProvider provider) => factory.AddProvider(provider);

    public void Dispose() => factory.Dispose();
}
