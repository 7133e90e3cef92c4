using System.Buffers.Binary;

namespace Junis.Server;

/// <summary>
/// New identifiers for sessions, completions and tool calls. They must be unique, not secret (every lookup is also
/// scoped to the caller's organization), so their random bits come from <see cref="Random.Shared"/>: the Guid
/// factories read the operating system's random source, a system call for every id.
/// </summary>
internal static class Ids
{
    /// <summary>A version 7 UUID (RFC 9562): time-ordered, so new sessions go to the end of their indexes.</summary>
    public static Guid TimeOrdered() => TimeOrdered(DateTimeOffset.UtcNow);

    public static Guid TimeOrdered(DateTimeOffset now)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(bytes, now.ToUnixTimeMilliseconds() << 16);
        System.Random.Shared.NextBytes(bytes[6..]);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary><paramref name="prefix"/> and 32 random lower-case hex digits, the form of OpenAI's own ids.</summary>
    public static string Random(string prefix) => string.Create(prefix.Length + 32, prefix, static (text, prefix) =>
    {
        prefix.CopyTo(text);
        Span<byte> bytes = stackalloc byte[16];
        System.Random.Shared.NextBytes(bytes);
        Convert.TryToHexStringLower(bytes, text[prefix.Length..], out _);
    });
}
