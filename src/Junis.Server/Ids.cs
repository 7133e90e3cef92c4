using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Junis.Server;

/// <summary>
/// New identifiers for sessions, completions and tool calls. They must be unique, not secret (every lookup is also
/// scoped to the caller's organization), so their random bits come from <see cref="Random.Shared"/>: the Guid
/// factories read the operating system's random source, a system call for every id. A named conversation's session
/// has no random bits: its id follows from its name.
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

    // Never to change: every server, old and new, must derive the same id from a name, or racing first requests
    // would again be told different ids.
    private static readonly Guid ConversationNamespace = new("6a7b514d-04c8-4fe7-9b25-d6d4edea9256");

    /// <summary>
    /// The id of a new session an organization names <paramref name="name"/>: a name-based version 8 UUID (RFC 9562,
    /// SHA-256 over a fixed namespace, the organization's id and the UTF-8 name), the same every time. Requests
    /// racing to start one named conversation are all given the id of the session that ends up holding their turns.
    /// </summary>
    public static Guid Named(Guid organization, string name)
    {
        var input = new byte[32 + Encoding.UTF8.GetByteCount(name)];
        ConversationNamespace.TryWriteBytes(input, bigEndian: true, out _);
        organization.TryWriteBytes(input.AsSpan(16), bigEndian: true, out _);
        Encoding.UTF8.GetBytes(name, input.AsSpan(32));
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        hash[6] = (byte)(0x80 | (hash[6] & 0x0F));
        hash[8] = (byte)(0x80 | (hash[8] & 0x3F));
        return new Guid(hash[..16], bigEndian: true);
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
