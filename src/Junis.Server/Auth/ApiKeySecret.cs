using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Junis.Server.Auth;

/// <summary>
/// Key secrets: <c>jns_live_</c> and 32 random letters or digits (about 190 bits). That much entropy makes a fast
/// hash the right tool: SHA-256 costs a microsecond where a password hash would cost milliseconds for nothing.
/// </summary>
public static class ApiKeySecret
{
    public const string Prefix = "jns_live_";
    public const int RandomLength = 32;
    public const int Length = 41; // Prefix.Length + RandomLength
    private const int DisplayLength = 14;

    private static readonly SearchValues<char> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");

    public static string Generate() =>
        Prefix + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", RandomLength);

    public static bool IsWellFormed(ReadOnlySpan<char> key) =>
        key.Length == Length && key.StartsWith(Prefix, StringComparison.Ordinal) && !key[Prefix.Length..].ContainsAnyExcept(Alphabet);

    public static KeyHash Hash(ReadOnlySpan<char> key)
    {
        Span<byte> utf8 = stackalloc byte[Length * 3];
        var written = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..written], hash);
        return KeyHash.From(hash);
    }

    public static string DisplayPrefix(string key) => key[..DisplayLength];

    /// <summary>A key for <paramref name="secret"/>, which is kept only as its hash and display prefix.</summary>
    public static ApiKey NewKey(Guid organizationId, string name, string secret, IEnumerable<string> scopes, DateTime now) => new()
    {
        OrganizationId = organizationId,
        Name = name,
        Prefix = DisplayPrefix(secret),
        SecretHash = Hash(secret).ToArray(),
        Scopes = Auth.Scopes.Join(scopes),
        CreatedAt = now,
    };
}

/// <summary>A SHA-256 digest as a value, so it can key a dictionary without allocating.</summary>
public readonly record struct KeyHash(UInt128 High, UInt128 Low)
{
    public static KeyHash From(ReadOnlySpan<byte> digest) =>
        new(MemoryMarshal.Read<UInt128>(digest), MemoryMarshal.Read<UInt128>(digest[16..]));

    public byte[] ToArray()
    {
        var bytes = new byte[32];
        MemoryMarshal.Write(bytes, High);
        MemoryMarshal.Write(bytes.AsSpan(16), Low);
        return bytes;
    }

    /// <summary>Compares in constant time, so a near miss takes as long as a far one.</summary>
    public bool FixedTimeEquals(KeyHash other)
    {
        Span<byte> mine = stackalloc byte[32], theirs = stackalloc byte[32];
        MemoryMarshal.Write(mine, High);
        MemoryMarshal.Write(mine[16..], Low);
        MemoryMarshal.Write(theirs, other.High);
        MemoryMarshal.Write(theirs[16..], other.Low);
        return CryptographicOperations.FixedTimeEquals(mine, theirs);
    }
}
