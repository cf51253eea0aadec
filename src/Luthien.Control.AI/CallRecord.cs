namespace Luthien.Control.AI;

/// <summary>
/// What one in-process call leaves behind, as an HTTP exchange does: its span and metrics, and (when the audit log is
/// on) its record, with the status and error code the endpoints would have answered with.
/// </summary>
internal sealed class CallRecord : IAsyncDisposable
{
    /// <summary>The method the audit log shows for an in-process call (it never was an HTTP request).</summary>
    internal const string Method = "IChatClient";

    private static readonly string Path = RequestPayloads.DefaultPath(RequestKind.ChatCompletion);

    private readonly Transaction _transaction;
    private readonly ExchangeTelemetry _exchange;
    private readonly AuditCapture? _audit;
    private readonly TransactionLogWriter _log;
    private int _status = 200;
    private ControlErrorKind? _failure;

    /// <summary>Begins the record of a call.</summary>
    /// <param name="transaction">The call's transaction, as the app asked it.</param>
    /// <param name="telemetry">The telemetry step.</param>
    /// <param name="log">The audit log.</param>
    /// <param name="maxBodyBytes">The most bytes of a body the log keeps.</param>
    public CallRecord(Transaction transaction, TelemetryStep telemetry, TransactionLogWriter log, int maxBodyBytes)
    {
        _transaction = transaction;
        _log = log;
        _exchange = telemetry.Begin(Path);
        _exchange.Attach(transaction);
        _audit = log.IsOn ? new AuditCapture(DateTime.UtcNow, maxBodyBytes) : null;
        _audit?.Read(transaction);
    }

    /// <summary>Whether the audit log keeps this call's answer (then a stream's chunks are needed in their wire form).</summary>
    public bool KeepsStream => _audit is not null;

    /// <summary>A transcript for the streamed answer, when the log is on.</summary>
    public StreamTranscript? BeginStream() => _audit?.BeginStream();

    /// <summary>Keeps the buffered answer as the app got it (in its wire form).</summary>
    public void Answered(ReadOnlySpan<byte> body) => _audit?.Answered(body);

    /// <summary>Notes the failure the app got, classified as the endpoints would have.</summary>
    /// <param name="exception">What the app got.</param>
    /// <param name="cancellationToken">The app's token (a cancellation it asked for is the client going away).</param>
    public void Failed(Exception exception, CancellationToken cancellationToken)
    {
        switch (exception)
        {
            case ControlException control:
                (_status, _failure) = (control.StatusCode, control.Kind);
                _audit?.Failed(control.Message, control.Type, control.Code);
                break;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                (_status, _failure) = (499, ControlErrorKind.ClientDisconnected);
                break;
            case InnerClientException:
                // The next client's own failure: what a backend's error status is to the endpoints.
                (_status, _failure) = (502, ControlErrorKind.BackendError);
                break;
            default:
                (_status, _failure) = (500, ControlErrorKind.Internal);
                break;
        }
    }

    /// <summary>Ends the span and queues the audit record (waiting for room only when the log's queue is full).</summary>
    public async ValueTask DisposeAsync()
    {
        _exchange.Complete(_status, _failure);
        _exchange.Dispose();
        if (_audit is not null)
        {
            await _log.EnqueueAsync(_audit.ToRecord(_status, Method, null, _transaction.Id, Path, RequestKind.ChatCompletion, _transaction, _failure, _exchange.Elapsed)).ConfigureAwait(false);
        }
    }
}
