namespace Luthien.Control;

/// <summary>
/// The backend's response body as the library reads it: the activity timeout (<see cref="BackendTimer"/>), the client's
/// cancellation, transport failures mapped to the library's errors, and (for event streams) a bound on one event's size
/// enforced as bytes arrive, so a peer that never ends an event cannot make anything buffer more than that.
/// </summary>
/// <remarks>
/// The clock runs only while a read is waiting on the backend: a slow client (backpressure) is never the backend's
/// silence. Every byte counts as activity, SSE comments (keep-alives) included. Before <see cref="MarkFirstEvent"/>
/// (when the stream was created with a first-event timeout) the deadline is fixed from the first read, so
/// keep-alives alone cannot hold a request open past it: the first-chunk timeout waits for a real event.
/// </remarks>
internal sealed class BackendReadStream : Stream
{
    private readonly Stream _inner;
    private readonly BackendTimer _timer;
    private readonly TimeSpan _idle;
    private readonly TimeSpan _firstEvent;
    private readonly long _maxEventBytes;
    private readonly bool _leaveOpen;
    private bool _waitingForFirstEvent;
    private bool _firstDeadlineSet;
    private long _eventBytes;
    private long _lineBytes;
    private bool _afterCarriageReturn;

    /// <summary>Wraps a backend body.</summary>
    /// <param name="inner">The body.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="idle">Longest silence while a read waits.</param>
    /// <param name="firstEvent">Deadline for the first event, or <see langword="null"/> when every read uses <paramref name="idle"/>.</param>
    /// <param name="maxEventBytes">For event streams, the largest raw event (all its lines) accepted; 0 for other bodies.</param>
    /// <param name="cancellationToken">The client's cancellation, forwarded to every read.</param>
    /// <param name="leaveOpen">Whether <paramref name="inner"/> stays open when this stream is disposed.</param>
    public BackendReadStream(Stream inner, TimeProvider timeProvider, TimeSpan idle, TimeSpan? firstEvent, long maxEventBytes, CancellationToken cancellationToken, bool leaveOpen = false)
    {
        _leaveOpen = leaveOpen;
        _inner = inner;
        _idle = idle;
        _firstEvent = firstEvent ?? idle;
        _waitingForFirstEvent = firstEvent is not null;
        _maxEventBytes = maxEventBytes;
        _timer = new BackendTimer(timeProvider, cancellationToken);
    }

    /// <summary>Cancelled when the client goes away or the backend stays silent too long; pass it to readers above.</summary>
    public CancellationToken Token => _timer.Token;

    /// <summary>Raw bytes one event may take, field names, line ends and comments included, for a data limit.</summary>
    internal static long RawEventLimit(int maxEventBytes) => maxEventBytes + Math.Max(4096L, maxEventBytes / 16);

    /// <summary>The first real event arrived: from now on every read gets the idle timeout.</summary>
    public void MarkFirstEvent()
    {
        if (_waitingForFirstEvent)
        {
            _waitingForFirstEvent = false;
            _timer.Stop();
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_waitingForFirstEvent && !_firstDeadlineSet)
        {
            _firstDeadlineSet = true;
            _timer.Start(_firstEvent);
        }

        ValueTask<int> pending;
        try
        {
            pending = _inner.ReadAsync(buffer, _timer.Token);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw BackendException.BrokeOff(ex);
        }

        // Bytes already at hand cost no timer work: the clock is armed only when the read has to wait on the backend.
        if (pending.IsCompletedSuccessfully)
        {
            return ValueTask.FromResult(Counted(buffer.Span, pending.Result));
        }

        return WaitAsync(pending, buffer);
    }

    private async ValueTask<int> WaitAsync(ValueTask<int> pending, Memory<byte> buffer)
    {
        if (!_waitingForFirstEvent)
        {
            _timer.Start(_idle);
        }

        int read;
        try
        {
            read = await pending.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_timer.TimedOut)
        {
            throw BackendException.Timeout(_waitingForFirstEvent ? "its first chunk" : "the next part of its answer");
        }
        catch (OperationCanceledException) when (_timer.ClientToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(_timer.ClientToken);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw BackendException.BrokeOff(ex);
        }
        finally
        {
            if (!_waitingForFirstEvent)
            {
                _timer.Stop();
            }
        }

        return Counted(buffer.Span, read);
    }

    private int Counted(ReadOnlySpan<byte> buffer, int read)
    {
        if (_maxEventBytes > 0 && read > 0)
        {
            CountEventBytes(buffer[..read]);
        }

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _timer.Dispose();
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync().ConfigureAwait(false);
        if (!_leaveOpen)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Counts the bytes of the event being received: an event ends at an empty line (<c>\n\n</c>, <c>\r\n\r\n</c>,
    /// <c>\r\r</c>). Past the limit the stream fails before the parser above can buffer more.
    /// </summary>
    private void CountEventBytes(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_afterCarriageReturn && data[0] == (byte)'\n')
            {
                // The \n of a \r\n: the line already ended at the \r.
                _afterCarriageReturn = false;
                data = data[1..];
                continue;
            }

            _afterCarriageReturn = false;
            var end = data.IndexOfAny((byte)'\r', (byte)'\n');
            var text = end < 0 ? data.Length : end;
            _lineBytes += text;
            _eventBytes += text;
            if (_eventBytes > _maxEventBytes)
            {
                throw BackendException.InvalidResponse($"it sent an event larger than the limit of {_maxEventBytes} bytes (Luthien:Limits:MaxEventBytes).");
            }

            if (end < 0)
            {
                return;
            }

            // An empty line ends the event; any other line end only ends the line.
            _eventBytes = _lineBytes == 0 ? 0 : _eventBytes + 1;
            _lineBytes = 0;
            _afterCarriageReturn = data[end] == (byte)'\r';
            data = data[(end + 1)..];
        }
    }
}
