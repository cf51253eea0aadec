using System.Diagnostics;
using System.Runtime.CompilerServices;
using Luthien.Control.Streaming;

namespace Luthien.Control;

/// <summary>
/// Finds a stream's usage chunk as it passes: records its tokens when someone listens, and keeps it from a client that
/// did not ask for it. Every other chunk passes as it is; nothing is parsed unless it may be the usage chunk.
/// </summary>
/// <param name="inner">The stream; disposed with this one.</param>
/// <param name="transaction">The transaction.</param>
/// <param name="hide">Whether the client did not ask for usage, so that its chunk is not passed on.</param>
/// <param name="metrics">The instruments to record the usage with, or <see langword="null"/> when nobody listens.</param>
/// <param name="span">The transaction's span, for its usage tags.</param>
/// <param name="keep">Whether to keep the usage in the transaction for the audit log.</param>
internal sealed class UsageStreamingIterator(StreamingResponseIterator inner, Transaction transaction, bool hide, LuthienMetrics? metrics, Activity? span, bool keep = false)
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
                if ((metrics is not null || keep) && ResponsesEvents.IsLastEvent(chunk.Data.Span))
                {
                    var response = chunk.Json?["response"] as System.Text.Json.Nodes.JsonObject;
                    metrics?.RecordUsage(response, transaction, span);
                    Keep(response);
                }

                yield return chunk;
                continue;
            }

            if (StreamUsage.IsUsageChunk(chunk))
            {
                metrics?.RecordUsage(chunk.Json, transaction, span);
                Keep(chunk.Json);
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

    /// <summary>Keeps the usage for the audit log (a copy: the chunk's tree goes back to its pool).</summary>
    private void Keep(System.Text.Json.Nodes.JsonObject? json)
    {
        if (keep && json?["usage"] is System.Text.Json.Nodes.JsonObject usage)
        {
            transaction.Usage = (System.Text.Json.Nodes.JsonObject)usage.DeepClone();
        }
    }
}
