using Luthien.Control.Streaming;

namespace Luthien.Control;

/// <summary>
/// A stream over another stream, for the host's steps: it owns the inner stream (disposed with it) and reads it through
/// <see cref="ReadAsync"/>.
/// </summary>
/// <param name="inner">The stream; disposed with this one.</param>
internal abstract class DelegatingStreamingIterator(StreamingResponseIterator inner) : StreamingResponseIterator
{
    /// <summary>The stream read from.</summary>
    protected StreamingResponseIterator Inner { get; } = inner;

    public sealed override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        ReadAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <summary>The chunks, read from <see cref="Inner"/>.</summary>
    protected abstract IAsyncEnumerable<StreamChunk> ReadAsync(CancellationToken cancellationToken);

    protected override async ValueTask DisposeAsyncCore()
    {
        await Inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }
}
