using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>
/// Usage handling around the policies. Before them: a streamed chat or legacy completion whose client did not ask for
/// the usage chunk gets <c>stream_options.include_usage</c> (a Responses stream always ends with usage, in
/// <c>response.completed</c>), so that tokens can be counted and logged
/// (<c>Luthien:Streaming:RequestUsage</c>). After them: the answer's usage is recorded when someone listens, and a usage
/// chunk the client did not ask for is kept from it. (The <c>"usage":null</c> members the backend then adds to every
/// other chunk are cut by the SSE writer as it writes each chunk's bytes, where that costs no copy.)
/// </summary>
/// <remarks>
/// Whether the client asked is a fact of its request, read when the body was parsed
/// (<see cref="TransactionRequest.ClientAskedForUsage"/>); nothing is written into the transaction's data for it.
/// </remarks>
/// <param name="options">Whether to ask (<see cref="StreamingOptions.RequestUsage"/>).</param>
/// <param name="metrics">The token instruments.</param>
/// <param name="auditLog">The audit log: when on, a stream's usage is kept for its record.</param>
internal sealed class UsageStep(IOptionsMonitor<LuthienOptions> options, LuthienMetrics metrics, TransactionLogWriter? auditLog = null) : ControlPolicy
{
    /// <inheritdoc />
    public override async ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        // The span as the host started it, before any policy may start one of its own.
        var span = LuthienTelemetry.CurrentSpan;
        if (transaction.Request is { TakesStreamOptions: true, IsStreaming: true, IncludeUsage: false } request && options.CurrentValue.Streaming.RequestUsage)
        {
            StreamUsage.Ask(request);
        }

        await next(transaction, cancellationToken).ConfigureAwait(false);

        var response = transaction.Response;
        var record = metrics.RecordsUsage(span);
        if (response.Stream is { } stream)
        {
            var hide = transaction.Request.AsksUsageClientDidNot;
            var keep = auditLog?.IsOn ?? false;
            if (hide || record || keep)
            {
                response.Stream = new UsageStreamingIterator(stream, transaction, hide, record ? metrics : null, span, keep);
            }
        }
        else if (record && response.BodyStream is null && response.StatusCode is >= 200 and < 300)
        {
            metrics.RecordUsage(response.Payload as JsonObject, transaction, span);
        }
    }
}
