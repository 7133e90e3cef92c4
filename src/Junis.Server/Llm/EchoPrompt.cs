using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>What Echo repeats of a conversation: a message's text, with what it holds besides text named in brackets.</summary>
internal static class EchoPrompt
{
    /// <summary>
    /// The message's parts in order: text as written, an image as <c>[image]</c>, audio as <c>[audio]</c>, a file as
    /// <c>[file]</c>, a marker set off from the text beside it by one space.
    /// </summary>
    public static string Describe(ChatMessage message)
    {
        // Most messages are one text: that text, not a copy of it.
        if (message.Contents is [TextContent { Text: var only }])
            return only;
        var text = new StringBuilder();
        var afterMarker = false;
        foreach (var content in message.Contents)
        {
            if (content is TextContent { Text: var part })
            {
                if (afterMarker && part.Length > 0 && !char.IsWhiteSpace(part[0]))
                    text.Append(' ');
                text.Append(part);
                if (part.Length > 0)
                    afterMarker = false;
            }
            else if (Marker(content) is { } marker)
            {
                if (text.Length > 0 && !char.IsWhiteSpace(text[^1]))
                    text.Append(' ');
                text.Append(marker);
                afterMarker = true;
            }
        }
        return text.ToString();
    }

    // The part's own JSON says what the caller sent; without it, the media type does.
    private static string? Marker(AIContent content) => PartType(content.RawRepresentation) switch
    {
        "image_url" => "[image]",
        "input_audio" => "[audio]",
        "file" => "[file]",
        _ => content switch
        {
            DataContent data => MediaMarker(data.MediaType),
            UriContent uri => MediaMarker(uri.MediaType),
            HostedFileContent => "[file]",
            _ => null,
        },
    };

    private static string? PartType(object? raw) =>
        raw is JsonElement { ValueKind: JsonValueKind.Object } part && part.TryGetProperty("type", out var type)
        && type.ValueKind == JsonValueKind.String
            ? type.GetString()
            : null;

    private static string MediaMarker(string mediaType) =>
        mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase) ? "[image]"
        : mediaType.StartsWith("audio/", StringComparison.OrdinalIgnoreCase) ? "[audio]"
        : "[file]";

    /// <summary>The result of the tool call that the conversation ends with, if it ends with one.</summary>
    public static FunctionResultContent? FinalToolResult(IReadOnlyList<ChatMessage> messages) =>
        messages.Count > 0 && messages[^1].Role == ChatRole.Tool
            ? messages[^1].Contents.OfType<FunctionResultContent>().FirstOrDefault()
            : null;

    /// <summary>A tool result as text: a string as it is, anything else as its JSON.</summary>
    public static string ResultText(object? result) => result switch
    {
        null => "",
        string text => text,
        JsonElement { ValueKind: JsonValueKind.String } text => text.GetString()!,
        JsonElement json => json.GetRawText(),
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions),
    };
}
