using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;

namespace Luthien.Control.Streaming;

/// <summary>
/// Reads the chunks of a backend's server-sent-event body as they arrive, with the tolerant parser of
/// <see cref="System.Net.ServerSentEvents"/> (BOM, CRLF, <c>data:</c> without a space, comments, multi-line data, UTF-8
/// split across reads). Each chunk keeps its exact bytes. Ends normally only after the backend's <c>[DONE]</c> (a
/// Responses stream: its last event); a connection that dies, a silence past the timeout, or an end before that throws.
/// </summary>
public sealed class RawSseStreamingIterator : StreamingResponseIterator, IUsageDrainSource
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

    /// <summary>
    /// When a policy ends the stream early and the client asked for usage, how long to keep reading for the usage chunk.
    /// </summary>
    internal TimeSpan UsageDrain { get; init; }

    /// <summary>
    /// The stream ends well after its last event (a Responses stream's <c>response.completed</c>,
    /// <c>response.incomplete</c> or <c>response.failed</c>) and the end of the body, with no <c>[DONE]</c>; anything after
    /// that event is not read. Without it, only <c>[DONE]</c> ends a stream well.
    /// </summary>
    internal bool EndsAtLastEvent { get; init; }

    /// <summary>The clock of this stream's timeouts.</summary>
    internal TimeProvider TimeProvider => _timeProvider;

    TimeSpan IUsageDrainSource.UsageDrain => UsageDrain;

    TimeProvider IUsageDrainSource.TimeProvider => _timeProvider;

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
        // The body is read through the library's transport stream: the activity timeout (keep-alive comments count,
        // the first-chunk deadline waits for a real event), the client's cancellation, and the event-size bound
        // enforced as bytes arrive, before the parser can buffer an oversized event.
        var body = new BackendReadStream(_body, _timeProvider, _idleTimeout, _firstChunkTimeout, BackendReadStream.RawEventLimit(_maxEventBytes), cancellationToken);
        await using (body.ConfigureAwait(false))
        {
            var parser = SseParser.Create(body, ParseItem);
            await using var events = parser.EnumerateAsync(body.Token).GetAsyncEnumerator(body.Token);
            while (true)
            {
                bool hasEvent;
                try
                {
                    hasEvent = await events.MoveNextAsync().ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (body.Token.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // The timer fired between reads (the parser saw the cancellation first).
                    throw BackendException.Timeout("the next chunk");
                }

                if (!hasEvent)
                {
                    throw BackendException.EndedEarly();
                }

                body.MarkFirstEvent();
                var chunk = events.Current.Data;
                if (chunk is null)
                {
                    // [DONE]: the stream ended well. Nothing after it is read.
                    yield break;
                }

                var last = EndsAtLastEvent && ResponsesEvents.IsLastEvent(chunk.Data.Span);
                yield return chunk;
                if (last)
                {
                    yield break;
                }
            }
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
            throw BackendException.InvalidResponse($"it sent an event larger than the limit of {_maxEventBytes} bytes (Luthien:Limits:MaxEventBytes).");
        }

        return StreamChunk.CopyToPooled(data, eventType == SseParser.EventTypeDefault ? null : eventType);
    }
}
