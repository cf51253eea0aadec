using System.Runtime.CompilerServices;

namespace Luthien.Control.Streaming;

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
        // One adapter per answer, shared by every policy of the chain: a chunk is read into events once.
        var format = WireFormats.ForStream(_transaction);
        var context = new StreamingContext(_transaction, format, _policy.MaxHeldChunks, _policy.MaxHeldBytes);
        var completed = false;

        // A client that asked for usage still gets the usage chunk when a policy ends the stream early: the upstream is
        // then read on for a bounded time, which needs a token of our own to stop it.
        // (Not when the library asked for usage on its own: the client would wait for a chunk it never sees.)
        var drain = _transaction.Request.ClientAskedForUsage ? Source(_inner) : null;
        using var stop = drain is null ? null : new CancellationTokenSource();
        using var forward = stop is null ? default : cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), stop);
        try
        {
            await using (var upstream = _inner.GetAsyncEnumerator(stop?.Token ?? cancellationToken))
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

                    context.Adopt(chunk);
                    await _policy.ProcessChunkCoreAsync(chunk, context, cancellationToken).ConfigureAwait(false);
                    while (context.TryTakeOutput(out var output))
                    {
                        yield return output;
                    }

                    if (context.IsCompleted)
                    {
                        // Completed early (blocked): nothing more is passed on; disposing the upstream cancels the backend.
                        if (drain is not null && await DrainForUsageAsync(upstream, drain, stop!, cancellationToken).ConfigureAwait(false) is { } usage)
                        {
                            yield return usage;
                        }

                        yield break;
                    }
                }
            }

            await _policy.CompleteStreamCoreAsync(context, cancellationToken).ConfigureAwait(false);
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
                _policy.OnStreamEndedEarlyCore(context);
            }
        }
    }

    /// <summary>The backend stream under the policies, when it can be drained for usage.</summary>
    private static IUsageDrainSource? Source(StreamingResponseIterator iterator) => iterator switch
    {
        PolicyWrappedIterator wrapped => Source(wrapped._inner),
        IUsageDrainSource source when source.UsageDrain > TimeSpan.Zero => source,
        _ => null,
    };

    /// <summary>
    /// Reads on until the usage chunk, the end, or the drain time, discarding everything else (text read meanwhile
    /// never reaches the client). A failure here ends nothing that was not already ended well.
    /// </summary>
    private static async ValueTask<StreamChunk?> DrainForUsageAsync(
        IAsyncEnumerator<StreamChunk> upstream, IUsageDrainSource source, CancellationTokenSource stop, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(source.UsageDrain, source.TimeProvider);
        using var expire = deadline.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), stop);
        try
        {
            while (await upstream.MoveNextAsync().ConfigureAwait(false))
            {
                var chunk = upstream.Current;
                if (StreamUsage.IsUsageChunk(chunk))
                {
                    return chunk;
                }

                chunk.Release();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The drain time is over.
        }
        catch (ControlException)
        {
            // The backend failed after the answer was already complete for the client.
        }

        return null;
    }
}
