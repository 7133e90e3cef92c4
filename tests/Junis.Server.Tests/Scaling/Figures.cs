using Xunit.Abstractions;
using Xunit.Sdk;

namespace Junis.Server.Tests.Scaling;

/// <summary>
/// Where a drill reports what it measured: its test's output, and xunit's diagnostic messages. <c>dotnet test</c> prints
/// no output of a passing test, but it prints diagnostic messages, which <c>xunit.runner.json</c> turns on, so the
/// figures are in every test run's log.
/// </summary>
public sealed class Figures(IMessageSink diagnostics)
{
    public void Report(ITestOutputHelper output, string figure)
    {
        output.WriteLine(figure);
        diagnostics.OnMessage(new DiagnosticMessage(figure));
    }
}
