using System.ComponentModel.DataAnnotations;

namespace Junis.Server.Orchestration;

public sealed class OrchestratorOptions
{
    public const string Section = "Junis:Orchestrator";

    /// <summary>The model name clients see in every response, whatever they sent as <c>model</c>.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Junis:Orchestrator:ModelName must not be empty.")]
    [RegularExpression(@"^\S{1,128}$", ErrorMessage = "Junis:Orchestrator:ModelName must be 1 to 128 characters without spaces.")]
    public string ModelName { get; set; } = "junis-orchestrator";

    /// <summary>Put before the caller's messages on every turn, when set.</summary>
    public string? SystemPrompt { get; set; }
}
