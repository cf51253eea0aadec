using System.Diagnostics;

namespace Luthien.Control;

/// <summary>
/// One exchange's span and duration, as <see cref="TelemetryStep"/> begins them: before the request is read, so that a
/// request refused unread is traced and measured too, and completed once, after the response has been written, with
/// the exchange's outcome as its <c>error.type</c>. Disposing it ends the span (after the exchange's last log line, which
/// then still carries the span's trace id).
/// </summary>
internal sealed class ExchangeTelemetry : IDisposable
{
    private readonly LuthienMetrics _metrics;
    private readonly string _path;
    private readonly long _started;
    private string? _model;
    private string? _operation;

    /// <summary>Starts the clock and the span.</summary>
    /// <param name="metrics">The instruments.</param>
    /// <param name="path">The path as logs and metrics may show it (a refused path is a fixed label).</param>
    internal ExchangeTelemetry(LuthienMetrics metrics, string path)
    {
        _metrics = metrics;
        _path = path;
        _started = Stopwatch.GetTimestamp();
        Span = LuthienTelemetry.Source.StartActivity(ActivityKind.Internal);
    }

    /// <summary>The transaction's span; <see langword="null"/> when nobody listens.</summary>
    public Activity? Span { get; }

    /// <summary>The time since the exchange began.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Names the span after the transaction, once its request has been read (before any policy changed it).</summary>
    /// <param name="transaction">The transaction.</param>
    public void Attach(Transaction transaction)
    {
        _model = transaction.Request.Model;
        _operation = LuthienMetrics.Operation(transaction.Request.Kind);
        if (Span is { } activity)
        {
            var operation = _operation ?? _path;
            activity.DisplayName = _model is null ? operation : $"{operation} {_model}";
            activity.SetTag("gen_ai.operation.name", operation);
            activity.SetTag("gen_ai.request.model", _model);
            activity.SetTag("luthien.transaction_id", transaction.Id);
        }
    }

    /// <summary>Records the outcome on the span and the duration metric.</summary>
    /// <param name="status">The HTTP status the client got.</param>
    /// <param name="failure">What went wrong, if anything the host saw (already classified, once).</param>
    public void Complete(int status, ControlErrorKind? failure)
    {
        // No failure of ours, yet an error status: the backend's own error (or a policy's answer standing in for it).
        var outcome = failure ?? (status >= 400 ? ControlErrorKind.BackendError : null);
        var errorType = outcome is { } kind ? ControlErrorKinds.Tag(kind) : null;
        if (errorType is not null && Span is { } activity)
        {
            activity.SetTag("error.type", errorType);
            activity.SetStatus(ActivityStatusCode.Error);
        }

        if (_metrics.Duration.Enabled)
        {
            // The operation whenever the request was read (a request without a model is still a chat); the path label
            // only for one refused before. error.type only on failure, as the semantic conventions have it.
            var tags = new TagList
            {
                { "gen_ai.operation.name", _operation ?? _path },
                { "gen_ai.request.model", _model },
                { "http.response.status_code", status },
            };
            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            _metrics.Duration.Record(Elapsed.TotalSeconds, tags);
        }
    }

    /// <summary>Ends the span.</summary>
    public void Dispose() => Span?.Dispose();
}
