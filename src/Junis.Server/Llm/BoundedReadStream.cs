namespace Junis.Server.Llm;

/// <summary>
/// A response body read no further than <paramref name="limit"/> bytes: the read that would pass it throws
/// <see cref="LimitExceededException"/>, and no read asks for more than one byte past it, so nothing that reads
/// through this stream (a buffer, a parser waiting for a line's end) can hold more than the limit.
/// </summary>
internal sealed class BoundedReadStream(Stream inner, long limit) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer[..Allowed(buffer.Length)]));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken));

    /// <summary>As much as was asked for, up to one byte past the limit: that byte, if it comes, says the body is longer.</summary>
    private int Allowed(int asked) => (int)Math.Min(asked, limit - _read + 1);

    private int Count(int read)
    {
        _read += read;
        return _read > limit ? throw new LimitExceededException($"The response body is longer than {limit} bytes.") : read;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>A body longer than its reader's limit, found reading it or from its declared length.</summary>
    public sealed class LimitExceededException(string message) : Exception(message);
}
