using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Junis.Server.Llm;

/// <summary>
/// Echo's log probabilities, in OpenAI's <c>logprobs</c> shape: each streamed piece is one token, and Echo is certain
/// of every token, so each has log probability 0 and is its own only alternative. One writer and buffer serve a whole
/// answer, so a piece costs its bytes and one parse.
/// </summary>
internal sealed class EchoLogprobs : IDisposable
{
    private readonly bool _withTopLogprobs;
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private readonly Utf8JsonWriter _writer;

    public EchoLogprobs(bool withTopLogprobs)
    {
        _withTopLogprobs = withTopLogprobs;
        _writer = new Utf8JsonWriter(_buffer);
    }

    /// <summary>The log probabilities of one streamed piece, whitespace before it included.</summary>
    public LogprobsContent For(string piece) => For([piece]);

    /// <summary>The log probabilities of several pieces as one object, their tokens in order: a whole answer's, written in one pass.</summary>
    public LogprobsContent For(IEnumerable<string> pieces)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset();
        _writer.WriteStartObject();
        _writer.WriteStartArray("content");
        foreach (var piece in pieces)
        {
            // The token is written from its bytes, so the two agree even for text that is not valid UTF-16.
            var bytes = Encoding.UTF8.GetBytes(piece);
            _writer.WriteStartObject();
            WriteToken(_writer, bytes);
            _writer.WriteStartArray("top_logprobs");
            if (_withTopLogprobs)
            {
                _writer.WriteStartObject();
                WriteToken(_writer, bytes);
                _writer.WriteEndObject();
            }
            _writer.WriteEndArray();
            _writer.WriteEndObject();
        }
        _writer.WriteEndArray();
        _writer.WriteNull("refusal");
        _writer.WriteEndObject();
        _writer.Flush();
        return new LogprobsContent(JsonElement.Parse(_buffer.WrittenSpan));
    }

    private static void WriteToken(Utf8JsonWriter writer, byte[] bytes)
    {
        writer.WriteString("token", bytes);
        writer.WriteNumber("logprob", 0);
        writer.WriteStartArray("bytes");
        foreach (var b in bytes)
            writer.WriteNumberValue(b);
        writer.WriteEndArray();
    }

    /// <summary>The log probabilities of several updates as one object, their tokens in order: a whole answer's.</summary>
    public static LogprobsContent Merge(IEnumerable<LogprobsContent> parts)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("content");
            foreach (var part in parts)
            {
                foreach (var token in part.Logprobs.GetProperty("content").EnumerateArray())
                    token.WriteTo(writer);
            }
            writer.WriteEndArray();
            writer.WriteNull("refusal");
            writer.WriteEndObject();
        }
        return new LogprobsContent(JsonElement.Parse(buffer.WrittenSpan));
    }

    public void Dispose() => _writer.Dispose();
}
