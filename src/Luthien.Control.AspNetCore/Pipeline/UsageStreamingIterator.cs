using System.Diagnostics;
using System.Runtime.CompilerServices;
using Luthien.Control.Streaming;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Finds a stream's usage chunk as it passes: records its tokens when someone listens, and keeps it from a client that
/// did not ask for it. Every other chunk passes as it is; nothing is parsed unless it may be the usage chunk.
/// </summary>
/// <param name="inner">The stream; disposed with this one.</param>
/// <param name="transaction">The transaction.</param>
/// <param name="hide">Whether the client did not ask for usage, so that its chunk is not passed on.</param>
/// <param name="metrics">The instruments to record the usage with, or <see langword="null"/> when nobody listens.</param>
/// <param name="span">The transaction's span, for its usage tags.</param>
internal sealed class UsageStreamingIterator(StreamingResponseIterator inner, Transaction transaction, bool hide, LuthienMetrics? metrics, Activity? span)
    : DelegatingStreamingIterator(inner)
{
    protected override async IAsyncEnumerable<StreamChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var responses = transaction.Request.Kind == RequestKind.Responses;
        await foreach (var chunk in Inner.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (responses)
            {
                // A Responses stream reports usage in the response its last event carries; the client always gets it.
                if (metrics is not null && ResponsesEvents.IsLastEvent(chunk.Data.Span))
                {
                    metrics.RecordUsage(chunk.Json?["response"] as System.Text.Json.Nodes.JsonObject, transaction, span);
                }

                yield return chunk;
                continue;
            }

            if (StreamUsage.IsUsageChunk(chunk))
            {
                metrics?.RecordUsage(chunk.Json, transaction, span);
                if (hide)
                {
                    // The library asked for it on its own: the client, which did not, never sees it.
                    chunk.Release();
                    continue;
                }
            }

            yield return chunk;
        }
    }
}
