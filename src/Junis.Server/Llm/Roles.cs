using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>OpenAI's roles that Microsoft.Extensions.AI has no name for.</summary>
public static class Roles
{
    /// <summary>Instructions from the application's developer, which newer models take in place of <c>system</c>.</summary>
    public static readonly ChatRole Developer = new("developer");

    /// <summary>A legacy function's result, named by the message's author name.</summary>
    public static readonly ChatRole Function = new("function");
}
