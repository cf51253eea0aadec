using System.Runtime.CompilerServices;
using Luthien.Control.Streaming;

namespace Luthien.Control;

/// <summary>
/// Measures a stream as the client receives it: the time to its first chunk (once), and how many chunks it carried
/// (those the policies left something of, which are the ones written). Chunks pass as they are, one at a time.
/// </summary>
/// <param name="inner">The stream; disposed with this one.</param>
/// <param name="transaction">The transaction (its start and model).</param>
/// <param name="metrics">The instruments.</param>
/// <param name="timeProvider">The clock the transaction's start was read from.</param>
internal sealed class TelemetryStreamingIterator(StreamingResponseIterator inner, Transaction transaction, LuthienMetrics metrics, TimeProvider timeProvider)
    : DelegatingStreamingIterator(inner)
{
    protected override async IAsyncEnumerable<StreamChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var chunks = 0L;
        var began = false;
        var upstream = Inner.GetAsyncEnumerator(cancellationToken);
        await using (upstream.ConfigureAwait(false))
        {
            try
            {
                var hasChunk = await upstream.MoveNextAsync().ConfigureAwait(false);
                began = true;
                if (hasChunk && metrics.TimeToFirstChunk.Enabled)
                {
                    metrics.TimeToFirstChunk.Record(
                        (timeProvider.GetUtcNow() - transaction.StartedAt).TotalSeconds,
                        new("gen_ai.operation.name", LuthienMetrics.Operation(transaction.Request.Kind) ?? "chat"),
                        new("gen_ai.request.model", transaction.Request.Model));
                }

                while (hasChunk)
                {
                    var chunk = upstream.Current;

                    // A chunk the policies left nothing of is not written.
                    if (!chunk.Data.IsEmpty)
                    {
                        chunks++;
                    }

                    yield return chunk;
                    hasChunk = await upstream.MoveNextAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                // A stream that failed before its first chunk was never written as one: nothing to count.
                if (began && metrics.Chunks.Enabled)
                {
                    metrics.Chunks.Add(chunks, new KeyValuePair<string, object?>("gen_ai.request.model", transaction.Request.Model));
                }
            }
        }
    }
}
