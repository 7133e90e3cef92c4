using System.Diagnostics;

namespace Junis.Server.Telemetry;

/// <summary>
/// The server's spans: a turn, its commit, each model call (by the GenAI conventions), each agent's part and each
/// fallback. No span carries a message's content, a key, or an organization's name.
/// </summary>
public static class ServerTelemetry
{
    public const string SourceName = "Junis.Server";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Attributes of the server's own, beside the GenAI conventions' <c>gen_ai.*</c>.</summary>
    public static class Attributes
    {
        public const string Outcome = "junis.turn.outcome";
        public const string Streaming = "junis.turn.stream";
        public const string Joined = "junis.turn.joined";
        public const string Provider = "junis.model.provider";
        public const string TransferredTo = "junis.agent.transferred_to";
    }
}
