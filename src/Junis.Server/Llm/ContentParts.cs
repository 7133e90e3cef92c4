using System.Buffers.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// OpenAI's content parts (<c>text</c>, <c>refusal</c>, <c>image_url</c>, <c>input_audio</c>, <c>file</c>) as the
/// contents a model takes: text as <see cref="TextContent"/>, media as <see cref="DataContent"/>,
/// <see cref="UriContent"/> or <see cref="HostedFileContent"/>. Each keeps the part as written in its
/// <see cref="AIContent.RawRepresentation"/>, which an OpenAI-compatible model is sent unchanged.
/// </summary>
public static class ContentParts
{
    public const string Text = "text", Refusal = "refusal", Image = "image_url", Audio = "input_audio", File = "file";

    /// <summary>The part as a content, or an exception whose message tells the caller what is wrong with it.</summary>
    public static AIContent ToContent(JsonElement part)
    {
        if (part.ValueKind != JsonValueKind.Object)
            throw new FormatException("Each content part must be an object like {\"type\":\"text\",\"text\":\"…\"}.");
        AIContent content = TypeOf(part) switch
        {
            Text => new TextContent(RequiredString(part, Text, "A text content part needs a 'text' string.")),
            Refusal => new RefusalContent(RequiredString(part, Refusal, "A refusal content part needs a 'refusal' string.")),
            Image => ImageOf(part),
            Audio => AudioOf(part),
            File => FileOf(part),
            null => throw new FormatException("Each content part needs a 'type' string."),
            var other => throw new FormatException(
                $"Content part type '{other}' is not supported; use 'text', 'image_url', 'input_audio', 'file' or (on assistant messages) 'refusal'."),
        };
        content.RawRepresentation = part;
        return content;
    }

    /// <summary>
    /// A tool call of the conversation so far, carrying its arguments as written in
    /// <see cref="AIContent.RawRepresentation"/>: they are sent back byte for byte, and never need parsing here.
    /// </summary>
    public static FunctionCallContent ToolCall(string callId, string name, string arguments) =>
        new(callId, name) { RawRepresentation = arguments };

    /// <summary>A call's arguments as the model wrote them, when they came with it (see <see cref="ToolCall"/>).</summary>
    public static string ArgumentsOf(FunctionCallContent call) => call.RawRepresentation as string ?? (call.Arguments is null
        ? "{}"
        : JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>))));

    /// <summary>The part as written, when the content came from one.</summary>
    public static JsonElement? RawPart(AIContent content) => content.RawRepresentation as JsonElement?;

    /// <summary>Whether the content is an image, audio or a file rather than words.</summary>
    public static bool IsMedia(AIContent content) => content is not (TextContent or RefusalContent);

    private static string? TypeOf(JsonElement part) =>
        part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;

    private static AIContent ImageOf(JsonElement part)
    {
        var url = RequiredString(Field(part, Image), "url", "An image_url content part needs 'image_url.url', an http(s) URL or a data URL.");
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
            return DataUrl(url, "image_url.url");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new FormatException("'image_url.url' of a content part must be an http(s) URL or a data URL.");
        return new UriContent(uri, "image/*");
    }

    private static DataContent AudioOf(JsonElement part)
    {
        var audio = Field(part, Audio);
        var data = RequiredString(audio, "data", "An input_audio content part needs 'input_audio.data', the audio in base64.");
        var format = RequiredString(audio, "format", "An input_audio content part needs 'input_audio.format', such as 'wav' or 'mp3'.");
        if (!Base64.IsValid(data))
            throw new FormatException("'input_audio.data' of a content part must be base64.");
        return new DataContent($"data:audio/{(format == "mp3" ? "mpeg" : format)};base64,{data}");
    }

    private static AIContent FileOf(JsonElement part)
    {
        var file = Field(part, File);
        if (file.TryGetProperty("file_data", out var data) && data.ValueKind == JsonValueKind.String)
        {
            var text = data.GetString()!;
            var name = file.TryGetProperty("filename", out var filename) && filename.ValueKind == JsonValueKind.String ? filename.GetString() : null;
            // OpenAI takes a data URL here; some clients send the bare base64 with a filename.
            var content = text.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
                ? DataUrl(text, "file.file_data")
                : Base64.IsValid(text) ? new DataContent($"data:application/octet-stream;base64,{text}")
                : throw new FormatException("'file.file_data' of a content part must be a data URL or base64.");
            content.Name = name;
            return content;
        }
        if (file.TryGetProperty("file_id", out var id) && id.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(id.GetString()))
            return new HostedFileContent(id.GetString()!);
        throw new FormatException("A file content part needs 'file.file_data' or 'file.file_id'.");
    }

    private static DataContent DataUrl(string url, string param)
    {
        var comma = url.IndexOf(',');
        if (comma < 0 || !url.AsSpan(0, comma).EndsWith(";base64", StringComparison.OrdinalIgnoreCase) || !Base64.IsValid(url.AsSpan(comma + 1)))
            throw new FormatException($"'{param}' of a content part must be a base64 data URL (data:<media type>;base64,<data>).");
        try
        {
            return new DataContent(url);
        }
        catch (ArgumentException)
        {
            throw new FormatException($"'{param}' of a content part is not a data URL with a valid media type.");
        }
    }

    private static JsonElement Field(JsonElement part, string name) =>
        part.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : throw new FormatException($"A {name} content part needs a '{name}' object.");

    private static string RequiredString(JsonElement owner, string name, string problem) =>
        owner.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new FormatException(problem);
}
