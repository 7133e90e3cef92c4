using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server;

/// <summary>
/// The options every surface's JSON contexts write results with: OpenAI's snake_case names, nulls left out, and
/// non-ASCII text (Korean replies, say) as UTF-8 rather than <c>\uXXXX</c> escapes, safe because the output is JSON,
/// never HTML. Each context's <c>Default</c>, whose options are the generated ones, is for a writer that brings that
/// encoder itself.
/// </summary>
internal static class WireOptions
{
    public static JsonSerializerOptions ForResults() => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
