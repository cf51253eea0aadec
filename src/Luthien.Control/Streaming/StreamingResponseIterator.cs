namespace Luthien.Control;

/// <summary>
/// The chunks of a streamed answer, read lazily: nothing is read from upstream before the consumer asks for it.
/// An iterator owns what it reads from (the backend's response) and releases it when disposed.
/// </summary>
/// <remarks>
/// Normal completion means the stream ended well (the backend sent <c>[DONE]</c>); the writer then sends
/// <c>data: [DONE]</c> once. An exception means it did not: the client never sees a fake success. An iterator can be
/// enumerated once.
/// </remarks>
public abstract class StreamingResponseIterator : IAsyncEnumerable<StreamChunk>, IAsyncDisposable
{
    /// <summary>Returns the enumerator over the chunks.</summary>
    /// <param name="cancellationToken">Cancels reading.</param>
    public abstract IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default);

    /// <summary>Releases what the iterator reads from.</summary>
    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return DisposeAsyncCore();
    }

    /// <summary>Releases what the iterator reads from; override to release your own resources.</summary>
    protected virtual ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
}
