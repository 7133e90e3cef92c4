namespace Junis.Server.Hosting;

public sealed class ShutdownOptions
{
    public const string Section = "Junis";

    /// <summary>How long open streams may go on once the server is told to stop (SIGTERM), in seconds.</summary>
    public int ShutdownSeconds { get; set; } = 30;
}
