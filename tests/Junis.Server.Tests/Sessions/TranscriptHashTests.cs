using System.Buffers;
using System.Text;
using System.Text.Json;
using Junis.Server.Sessions;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// Pins the canonical form and the chained SHA-256 of a transcript. Stored sessions are found by these hashes,
/// so a change here silently orphans every conversation in progress: it must be deliberate.
/// </summary>
public sealed class TranscriptHashTests
{
    private static readonly TranscriptMessage[] Transcript =
    [
        new("user", "Hello, 안녕하세요"),
        new("assistant", "Hi! \"Quoted\" \\ back"),
        new("user", "Bye"),
        new("assistant", null, [("end_call", """{"reason":"bye"}""")]),
    ];

    private static string Canonical(TranscriptMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        TranscriptHash.WriteCanonical(buffer, message);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void CanonicalFormIsACompactJsonArrayOfRoleTextAndToolCalls()
    {
        Assert.Equal("""["user","Hello, 안녕하세요",[]]""", Canonical(Transcript[0]));
        Assert.Equal("""["assistant","Hi! \"Quoted\" \\ back",[]]""", Canonical(Transcript[1]));
        Assert.Equal("""["assistant","",[["end_call","{\"reason\":\"bye\"}"]]]""", Canonical(Transcript[3]));
    }

    [Fact]
    public void ChainedHashesArePinned()
    {
        // sha256("junis-transcript-v1"), then sha256(previous ‖ canonical form) per message.
        Assert.Equal("6566f525560f6a3db94fd22f73244947bd742737e8469b050891f9bf6131db60", Convert.ToHexStringLower(TranscriptHash.Empty));
        string[] expected =
        [
            "708296bd8192d06613c5ca657b541b1b16d0fa0a2857e84e868b7df383ca44ec",
            "4a64c00dc0ff2fa8edd6b4f9000dfefa16a5c585640568c01c70b85ae8b6c48e",
            "17ae4c14971163762cc8eed3243a497dda48bdfe9f72536761b488760a4b0b84",
            "b79aecdee5309d980cb7683af75172449ef70cadb58e23229d1f1793a150bab8",
        ];
        var hash = TranscriptHash.Empty;
        for (var i = 0; i < Transcript.Length; i++)
        {
            hash = TranscriptHash.Extend(hash, Transcript[i]);
            Assert.Equal(expected[i], Convert.ToHexStringLower(hash));
        }
        Assert.Equal(expected[^1], Convert.ToHexStringLower(TranscriptHash.Extend(TranscriptHash.Empty, Transcript)));
    }

    [Fact]
    public void ToolCallIdsDoNotCountButNamesArgumentsRolesAndTextDo()
    {
        var user = new TranscriptMessage("user", "hi");
        var baseline = Convert.ToHexStringLower(TranscriptHash.Extend(TranscriptHash.Empty, user));

        Assert.NotEqual(baseline, Convert.ToHexStringLower(TranscriptHash.Extend(TranscriptHash.Empty, new TranscriptMessage("assistant", "hi"))));
        Assert.NotEqual(baseline, Convert.ToHexStringLower(TranscriptHash.Extend(TranscriptHash.Empty, new TranscriptMessage("user", "hi "))));
        Assert.NotEqual(
            TranscriptHash.Extend(TranscriptHash.Empty, new TranscriptMessage("assistant", "", [("a", "{}")])),
            TranscriptHash.Extend(TranscriptHash.Empty, new TranscriptMessage("assistant", "", [("a", "{\"x\":1}")])));
        // No field can bleed into the next: ["ab",""] and ["a","b"] differ.
        Assert.NotEqual(
            TranscriptHash.Extend(TranscriptHash.Empty, new TranscriptMessage("user", "ab")),
            TranscriptHash.Extend(TranscriptHash.Empty, new TranscriptMessage("user", "a\",\"b")));
    }

    [Fact]
    public void AMessageWithMediaAddsTheDigestOfEachNonTextPart()
    {
        var parts = new[]
        {
            JsonElement.Parse("""{"type":"text","text":"What is this?"}"""),
            JsonElement.Parse("""{ "image_url": {"url":"https://example.com/cat.png", "detail":"low"}, "type":"image_url" }"""),
        };
        // The part written compactly with its properties in ordinal order, then SHA-256: spacing and order do not count.
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            Encoding.UTF8.GetBytes("""{"image_url":{"detail":"low","url":"https://example.com/cat.png"},"type":"image_url"}""")));

        Assert.Equal(digest, TranscriptHash.PartDigest(parts[1]));
        Assert.Equal($$"""["user","What is this?",[],["{{digest}}"]]""", Canonical(new TranscriptMessage("user", "What is this?", Parts: parts)));
        // Text parts alone hash as plain text does.
        Assert.Equal("""["user","What is this?",[]]""", Canonical(new TranscriptMessage("user", "What is this?", Parts: [parts[0]])));
        Assert.NotEqual(
            TranscriptHash.Extend(TranscriptHash.Empty, new TranscriptMessage("user", "What is this?", Parts: parts)),
            TranscriptHash.Extend(TranscriptHash.Empty, new TranscriptMessage("user", "What is this?",
                Parts: [parts[0], JsonElement.Parse("""{"type":"image_url","image_url":{"url":"https://example.com/dog.png","detail":"low"}}""")])));
    }
}
