namespace Luthien.Control;

/// <summary>
/// The telemetry step, outermost of what the host runs around the root policy: it begins each exchange's span and
/// duration (<see cref="Begin"/>, before the request is read), and once the policies have answered, measures a streamed
/// answer as it is written (time to first chunk, chunks). With nobody listening it costs a check and wraps nothing.
/// Token usage is read by <see cref="UsageStep"/>, which knows which chunk carries it.
/// </summary>
/// <param name="metrics">The instruments.</param>
/// <param name="timeProvider">The clock transactions are started with.</param>
internal sealed class TelemetryStep(LuthienMetrics metrics, TimeProvider timeProvider) : ControlPolicy
{
    /// <summary>Begins an exchange's span and clock.</summary>
    /// <param name="path">The path as logs and metrics may show it.</param>
    public ExchangeTelemetry Begin(string path) => new(metrics, path);

    /// <inheritdoc />
    public override async ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        await next(transaction, cancellationToken).ConfigureAwait(false);
        var response = transaction.Response;
        if (response.Stream is { } stream && (metrics.TimeToFirstChunk.Enabled || metrics.Chunks.Enabled))
        {
            response.Stream = new TelemetryStreamingIterator(stream, transaction, metrics, timeProvider);
        }
    }
}
