using System.Net.Sockets;
using System.Text;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>
/// HTTP/1.1 spoken byte by byte over a socket, for requests no HTTP client will send: broken chunked framing,
/// bodies that end early. Every request asks the server to close the connection, so the answer ends where it does.
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

    /// <summary>
    /// The start of a POST to <paramref name="path"/> with the test key, up to and including the blank line;
    /// <paramref name="framing"/> is the header that frames the body (<c>Transfer-Encoding: chunked</c>, <c>Content-Length: 12</c>).
    /// </summary>
    public static byte[] PostHead(string path, string framing, string key = JunisApp.Key) => Encoding.ASCII.GetBytes(
        $"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n" +
        $"Content-Type: application/json\r\nConnection: close\r\n{framing}\r\n\r\n");

    /// <summary>One chunk of a chunked body: its size in hex, the data, and the line ends around it.</summary>
    public static byte[] Chunk(byte[] data) => [.. Encoding.ASCII.GetBytes($"{data.Length:x}\r\n"), .. data, .. "\r\n"u8];

    /// <summary>
    /// Sends <paramref name="request"/> to <paramref name="server"/>, then, when <paramref name="endRequest"/> is set,
    /// shuts the sending side as a client does that has nothing more to say, and reads until the server closes.
    /// Null when the server closed the connection without answering.
    /// </summary>
    public static async Task<Response?> SendAsync(Uri server, byte[] request, bool endRequest = true)
    {
        var timeout = TimeSpan.FromSeconds(10);
        using var deadline = new CancellationTokenSource(timeout);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, deadline.Token);
        var socket = client.Client;
        await socket.SendAsync(request, SocketFlags.None, deadline.Token);
        if (endRequest)
            socket.Shutdown(SocketShutdown.Send);

        using var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
                received.Write(buffer, 0, read);
        }
        catch (SocketException)
        {
            // A reset: the server closed with bytes of ours unread. What arrived before it is still the answer.
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The server neither answered nor closed the connection within {timeout}; received: " +
                Encoding.UTF8.GetString(received.ToArray()));
        }
        return received.Length == 0 ? null : Parse(received.ToArray());
    }

    private static Response Parse(byte[] raw)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
            throw new InvalidDataException($"Not an HTTP response: {Encoding.UTF8.GetString(raw)}");
        var lines = Encoding.ASCII.GetString(raw, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2))
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = raw.AsSpan(end + 4);
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
            body = Unchunk(body);
        return new Response(status, headers, Encoding.UTF8.GetString(body));
    }

    private static byte[] Unchunk(ReadOnlySpan<byte> chunked)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n"u8);
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked[..lineEnd]).Split(';')[0], 16);
            if (size == 0)
                return body.ToArray();
            body.Write(chunked.Slice(lineEnd + 2, size));
            chunked = chunked[(lineEnd + 2 + size + 2)..];
        }
    }
}
