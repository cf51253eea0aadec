using System.Runtime.CompilerServices;

namespace Luthien.Control.Streaming;

/// <summary>
/// Lets code look ahead in a stream before it is sent: <see cref="PeekAsync"/> reads chunks ahead into a bounded window,
/// and enumeration then replays them before reading on. The window is the only buffering; its size is capped. A policy
/// uses it to decide on the start of an answer while a failure can still be a proper HTTP error.
/// </summary>
/// <example>
/// A policy that refuses an answer which begins with a refusal, before anything is sent:
/// <code>
/// protected override async ValueTask ApplyStreamingAsync(Transaction transaction, CancellationToken cancellationToken)
/// {
///     var stream = new BufferingStreamingIterator(transaction, maxBufferedChunks: 8);
///     var start = await stream.PeekAsync(2, cancellationToken);
///     if (start.Any(chunk => chunk.Output.Any(o => o.Kind == OutputKind.Refusal)))
///     {
///         await stream.DisposeAsync();   // the backend request is cancelled
///         throw ControlPolicyException.PolicyViolation("The model refused.");
///     }
///
///     transaction.Response.Stream = stream;   // the peeked chunks are replayed first
///     await base.ApplyStreamingAsync(transaction, cancellationToken);
/// }
/// </code>
/// </example>
public sealed class BufferingStreamingIterator : StreamingResponseIterator
{
    private readonly StreamingResponseIterator _inner;
    private readonly WireFormat? _format;
    private readonly int _maxBufferedChunks;
    private readonly List<StreamChunk> _window = [];
    private IAsyncEnumerator<StreamChunk>? _upstream;
    private bool _upstreamEnded;
    private int _enumerated;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The stream; disposed with this iterator.</param>
    /// <param name="maxBufferedChunks">The most chunks held in the look-ahead window.</param>
    public BufferingStreamingIterator(StreamingResponseIterator inner, int maxBufferedChunks)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBufferedChunks);
        _inner = inner;
        _maxBufferedChunks = maxBufferedChunks;
    }

    /// <summary>
    /// Wraps a transaction's streamed answer, so that the chunks read ahead can be read as
    /// <see cref="StreamChunk.Output"/> events.
    /// </summary>
    /// <param name="transaction">The transaction; its <see cref="TransactionResponse.Stream"/> is wrapped (and disposed with this iterator).</param>
    /// <param name="maxBufferedChunks">The most chunks held in the look-ahead window.</param>
    public BufferingStreamingIterator(Transaction transaction, int maxBufferedChunks)
        : this(transaction?.Response.Stream ?? throw new ArgumentException("The transaction has no streamed answer.", nameof(transaction)), maxBufferedChunks)
    {
        _format = WireFormats.ForStream(transaction);
    }

    /// <summary>The chunks read ahead and not yet replayed.</summary>
    public IReadOnlyList<StreamChunk> Window => _window;

    /// <summary>Reads ahead until the window holds <paramref name="count"/> chunks or the stream ends.</summary>
    /// <param name="count">How many chunks to have in the window.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>A copy of the window (fewer than <paramref name="count"/> chunks when the stream ended first).</returns>
    /// <exception cref="ControlException"><paramref name="count"/> is over the window's limit (<see cref="ControlErrorKind.PolicyFailure"/>).</exception>
    public async ValueTask<IReadOnlyList<StreamChunk>> PeekAsync(int count, CancellationToken cancellationToken = default)
    {
        if (count > _maxBufferedChunks)
        {
            throw ControlFailureException.PolicyFailure($"Cannot look ahead {count} chunks: the limit is {_maxBufferedChunks}.");
        }

        if (_enumerated != 0)
        {
            throw new InvalidOperationException("Peek before enumerating the stream.");
        }

        _upstream ??= _inner.GetAsyncEnumerator(cancellationToken);
        while (_window.Count < count && !_upstreamEnded)
        {
            if (await _upstream.MoveNextAsync().ConfigureAwait(false))
            {
                var chunk = _upstream.Current;
                chunk.Format = _format;
                _window.Add(chunk);
            }
            else
            {
                _upstreamEnded = true;
            }
        }

        return [.. _window];
    }

    /// <inheritdoc />
    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A streaming response can be enumerated only once.");
        }

        return ReplayAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        if (_upstream is not null)
        {
            await _upstream.DisposeAsync().ConfigureAwait(false);
        }

        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private async IAsyncEnumerable<StreamChunk> ReplayAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var chunk in _window)
        {
            yield return chunk;
        }

        _window.Clear();
        if (_upstreamEnded)
        {
            yield break;
        }

        _upstream ??= _inner.GetAsyncEnumerator(cancellationToken);
        while (await _upstream.MoveNextAsync().ConfigureAwait(false))
        {
            yield return _upstream.Current;
        }
    }
}
