using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Luthien.Control.Backends;

namespace Luthien.Control.Streaming.Iterators;

/// <summary>
/// Reads the chunks of a backend's server-sent-event body as they arrive, with the tolerant parser of
/// <see cref="System.Net.ServerSentEvents"/> (BOM, CRLF, <c>data:</c> without a space, comments, multi-line data, UTF-8
/// split across reads). Each chunk keeps its exact bytes. Ends normally only after the backend's <c>[DONE]</c>;
/// a connection that dies, a silence past the timeout, or an end without <c>[DONE]</c> throws.
/// </summary>
public sealed class RawSseStreamingIterator : StreamingResponseIterator
{
    private static readonly byte[] DoneMarker = "[DONE]"u8.ToArray();
    private readonly Stream _body;
    private readonly IDisposable? _owner;
    private readonly TimeSpan _firstChunkTimeout;
    private readonly TimeSpan _idleTimeout;
    private readonly int _maxEventBytes;
    private readonly TimeProvider _timeProvider;
    private int _enumerated;
    private int _disposed;

    /// <summary>Creates the iterator.</summary>
    /// <param name="body">The backend's response body.</param>
    /// <param name="owner">Disposed with the iterator (typically the HTTP response).</param>
    /// <param name="firstChunkTimeout">How long the backend may stay silent before its first event.</param>
    /// <param name="idleTimeout">How long the backend may stay silent between events.</param>
    /// <param name="maxEventBytes">The largest event accepted.</param>
    /// <param name="timeProvider">The clock for the timeouts.</param>
    public RawSseStreamingIterator(Stream body, IDisposable? owner, TimeSpan firstChunkTimeout, TimeSpan idleTimeout, int maxEventBytes, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEventBytes);
        _body = body;
        _owner = owner;
        _firstChunkTimeout = firstChunkTimeout;
        _idleTimeout = idleTimeout;
        _maxEventBytes = maxEventBytes;
        _timeProvider = timeProvider;
    }

    /// <inheritdoc />
    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A streaming response can be enumerated only once.");
        }

        return ReadAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _body.DisposeAsync().ConfigureAwait(false);
        _owner?.Dispose();
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private async IAsyncEnumerable<StreamChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // One source for both causes: the idle clock, and the consumer's token forwarded by a registration.
        using var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        using var forward = cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), idle);
        var parser = SseParser.Create(_body, ParseItem);
        await using var events = parser.EnumerateAsync(idle.Token).GetAsyncEnumerator(idle.Token);
        var first = true;
        while (true)
        {
            bool hasEvent;
            try
            {
                // The clock runs only while waiting on the backend: a slow client (backpressure) is not the backend's
                // silence, and events already buffered cost no timer work.
                var next = events.MoveNextAsync();
                if (next.IsCompleted)
                {
                    hasEvent = next.Result;
                }
                else
                {
                    idle.CancelAfter(first ? _firstChunkTimeout : _idleTimeout);
                    hasEvent = await next.ConfigureAwait(false);
                    idle.CancelAfter(Timeout.InfiniteTimeSpan);
                }
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw BackendException.Timeout(first ? "its first chunk" : "the next chunk");
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw new ControlPolicyException(502, ErrorCodes.BackendUnavailable, "The backend's stream broke off.", "server_error", innerException: ex);
            }

            if (!hasEvent)
            {
                throw new ControlPolicyException(502, ErrorCodes.BackendUnavailable, "The backend's stream ended without [DONE].", "server_error");
            }

            first = false;
            var chunk = events.Current.Data;
            if (chunk is null)
            {
                // [DONE]: the stream ended well. Nothing after it is read.
                yield break;
            }

            yield return chunk;
        }
    }

    private StreamChunk? ParseItem(string eventType, ReadOnlySpan<byte> data)
    {
        if (data.SequenceEqual(DoneMarker))
        {
            return null;
        }

        if (data.Length > _maxEventBytes)
        {
            throw new ControlPolicyException(502, ErrorCodes.BackendUnavailable, $"The backend sent an event larger than the limit of {_maxEventBytes} bytes.", "server_error");
        }

        return StreamChunk.CopyToPooled(data, eventType == SseParser.EventTypeDefault ? null : eventType);
    }
}
