using System.Runtime.CompilerServices;

namespace Luthien.Control.Streaming.Iterators;

/// <summary>
/// Runs a <see cref="StreamingControlPolicy"/> over another iterator, lazily: a chunk is read from upstream only when the
/// consumer asks for the next one and the policy has nothing left to emit. Wrapping in chain order composes policies.
/// </summary>
public sealed class PolicyWrappedIterator : StreamingResponseIterator
{
    private readonly StreamingResponseIterator _inner;
    private readonly StreamingControlPolicy _policy;
    private readonly Transaction _transaction;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The upstream chunks; disposed with this iterator.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="transaction">The transaction.</param>
    public PolicyWrappedIterator(StreamingResponseIterator inner, StreamingControlPolicy policy, Transaction transaction)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(transaction);
        _inner = inner;
        _policy = policy;
        _transaction = transaction;
    }

    /// <summary>The policy.</summary>
    public StreamingControlPolicy Policy => _policy;

    /// <inheritdoc />
    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        RunAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private async IAsyncEnumerable<StreamChunk> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var context = new StreamingContext(_transaction, _policy.MaxHeldChunks);
        var completed = false;
        try
        {
            await using (var upstream = _inner.GetAsyncEnumerator(cancellationToken))
            {
                while (await upstream.MoveNextAsync().ConfigureAwait(false))
                {
                    var chunk = upstream.Current;
                    if (chunk.IsError)
                    {
                        // Backend errors go to the client untouched; the stream ends there.
                        yield return chunk;
                        continue;
                    }

                    await _policy.ProcessChunkAsync(chunk, context, cancellationToken).ConfigureAwait(false);
                    while (context.TryTakeOutput(out var output))
                    {
                        yield return output;
                    }

                    if (context.IsCompleted)
                    {
                        // Completed early (blocked): nothing more is read; disposing the upstream cancels the backend.
                        yield break;
                    }
                }
            }

            await _policy.CompleteStreamAsync(context, cancellationToken).ConfigureAwait(false);
            completed = true;
            while (context.TryTakeOutput(out var output))
            {
                yield return output;
            }
        }
        finally
        {
            if (!completed)
            {
                _policy.OnStreamEndedEarly(context);
            }
        }
    }
}
