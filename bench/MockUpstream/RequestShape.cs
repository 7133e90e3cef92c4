using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace MockUpstream;

/// <summary>The two things the mock needs from a chat completions request; everything else is ignored.</summary>
public readonly record struct RequestShape(bool Stream, bool IncludeUsage)
{
    public static async ValueTask<RequestShape> ReadAsync(PipeReader body, CancellationToken cancellation)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellation);
            if (read.IsCompleted)
            {
                var shape = Parse(read.Buffer);
                body.AdvanceTo(read.Buffer.End);
                return shape;
            }
            body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    // Any body is accepted: one that is not a JSON object is answered like a non-streaming request.
    static RequestShape Parse(ReadOnlySequence<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        var shape = new RequestShape();
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return shape;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("stream"u8))
                    shape = shape with { Stream = ReadTrue(ref reader) };
                else if (reader.ValueTextEquals("stream_options"u8))
                    shape = shape with { IncludeUsage = ReadIncludeUsage(ref reader) };
                else
                    reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return shape;
    }

    static bool ReadTrue(ref Utf8JsonReader reader) => reader.Read() && reader.TokenType == JsonTokenType.True;

    static bool ReadIncludeUsage(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }
        var include = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("include_usage"u8))
                include = ReadTrue(ref reader);
            else
                reader.Skip();
        }
        return include;
    }
}
