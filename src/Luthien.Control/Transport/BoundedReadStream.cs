namespace Luthien.Control;

/// <summary>
/// A read-only view of a body that fails as soon as more than a limit has been read: the library's one bound on the
/// bytes taken from a body, whether it is read whole (<see cref="BoundedBodyReader"/>: a request, a buffered backend
/// answer) or streamed on as it arrives (a pass-through request). The bound is checked as bytes arrive, never against a
/// declared length alone. The body underneath is left open.
/// </summary>
/// <param name="inner">The body.</param>
/// <param name="limit">The most bytes accepted.</param>
/// <param name="tooLarge">The error for a body over <paramref name="limit"/> (it gets the limit).</param>
internal sealed class BoundedReadStream(Stream inner, long limit, Func<long, Exception> tooLarge) : Stream
{
    private long _read;

    /// <summary>The most bytes accepted.</summary>
    public long Limit => limit;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var pending = inner.ReadAsync(buffer, cancellationToken);
        return pending.IsCompletedSuccessfully ? ValueTask.FromResult(Count(pending.Result)) : WaitAsync(pending);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private async ValueTask<int> WaitAsync(ValueTask<int> pending) => Count(await pending.ConfigureAwait(false));

    private int Count(int read)
    {
        _read += read;
        if (_read > limit)
        {
            throw tooLarge(limit);
        }

        return read;
    }
}
