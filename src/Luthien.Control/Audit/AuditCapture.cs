using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// Collects, as one exchange runs (an HTTP request, or an in-process call), what the audit log keeps of it: the model the client asked for, the answer as the
/// client got it (a buffered body, or a stream's transcript), the error it was told — then hands it over as an
/// <see cref="AuditRecord"/>. Only made when the audit log is on; copies bytes, builds no JSON.
/// </summary>
/// <param name="startedAt">When the exchange began, UTC.</param>
/// <param name="maxBodyBytes">The most bytes of a body kept.</param>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The transcript passes to the record ToRecord makes; the log writer disposes it.")]
internal sealed class AuditCapture(DateTime startedAt, int maxBodyBytes)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private string? _clientModel;
    private StreamTranscript? _transcript;
    private byte[]? _responseBody;
    private bool _responseTruncated;
    private (string Message, string Type, string Code)? _error;

    /// <summary>Notes the request as read, before any policy changed it.</summary>
    public void Read(Transaction transaction) => _clientModel = transaction.Request.Model;

    /// <summary>A transcript for the stream about to be written.</summary>
    public StreamTranscript BeginStream() => _transcript = new StreamTranscript(_started, maxBodyBytes);

    /// <summary>Keeps a buffered answer's body as written.</summary>
    public void Answered(ReadOnlySpan<byte> body)
    {
        if (body.Length > maxBodyBytes)
        {
            _responseTruncated = true;
            return;
        }

        _responseBody = body.ToArray();
    }

    /// <summary>Notes the error the client was told.</summary>
    public void Failed(string message, string type, string code) => _error = (message, type, code);

    /// <summary>The record of the finished exchange; the caller hands it to the log writer, which owns it then.</summary>
    /// <param name="status">The status the client got (in-process: the status the endpoints would have answered with).</param>
    /// <param name="method">The request's method.</param>
    /// <param name="requestBodyBytes">The request body's declared length, if any.</param>
    /// <param name="transactionId">The transaction's id.</param>
    /// <param name="path">The path the exchange is logged under.</param>
    /// <param name="kind">The API.</param>
    /// <param name="transaction">The transaction, if the request was read.</param>
    /// <param name="failure">What went wrong, if anything.</param>
    /// <param name="elapsed">How long the exchange took.</param>
    public AuditRecord ToRecord(int status, string method, long? requestBodyBytes, string transactionId, string path, RequestKind kind, Transaction? transaction, ControlErrorKind? failure, TimeSpan elapsed)
    {
        byte[]? requestBody = null;
        var requestTruncated = false;
        var unauthenticated = failure == ControlErrorKind.Unauthorized;
        if (transaction?.Request.Payload is not null && !unauthenticated)
        {
            // The body as it went to the backend (the bytes sent), or as it was refused, after the request policies.
            var bytes = transaction.Request.SentBody ?? transaction.Request.ToUtf8Bytes();
            requestTruncated = bytes.Length > maxBodyBytes;
            requestBody = requestTruncated ? null : bytes;
        }

        var responseBody = _responseBody;
        if (_error is { } error)
        {
            responseBody = System.Text.Encoding.UTF8.GetBytes(new JsonObject
            {
                ["error"] = new JsonObject { ["message"] = error.Message, ["type"] = error.Type, ["code"] = error.Code },
            }.ToJsonString());
        }

        var finalModel = transaction?.Request.Model;
        return new AuditRecord
        {
            TransactionId = transactionId,
            StartedAt = startedAt,
            EndedAt = DateTime.UtcNow,
            Api = Api(kind),
            Method = method,
            Path = path,
            Model = Bounded(_clientModel ?? finalModel),
            BackendModel = finalModel != _clientModel ? Bounded(finalModel) : null,
            Stream = transaction?.IsStreaming ?? false,
            Headers = transaction?.Request.GetRedactedHeaders(),
            RequestBody = requestBody,
            RequestBodyWithheld = unauthenticated,
            RequestTruncated = requestTruncated,
            RequestBodyBytes = requestBodyBytes,
            Status = status,
            ErrorCode = _error?.Code ?? Code(failure, status),
            Decisions = transaction?.Decisions ?? [],
            Usage = transaction?.Usage,
            DurationMs = elapsed.TotalMilliseconds,
            Client = transaction is not null && transaction.Data.TryGet(ClientIdentity.Key, out var client) ? client : null,
            ResponseBody = responseBody,
            ResponseTruncated = _responseTruncated,
            Transcript = _transcript,
            Root = transaction?.Root,
        };
    }

    /// <summary>The most characters of a model name kept (a client may send megabytes as one).</summary>
    internal const int MaxModelChars = 256;

    private static string? Bounded(string? model) => model is { Length: > MaxModelChars } ? model[..MaxModelChars] + "…" : model;

    /// <summary>The API as the log names it.</summary>
    internal static string Api(RequestKind kind) => kind switch
    {
        RequestKind.ChatCompletion => "chat.completions",
        RequestKind.Responses => "responses",
        RequestKind.Completion => "completions",
        _ => "passthrough",
    };

    /// <summary>The error code of a failure told mid-answer (or of the backend's own error status), as the client saw it.</summary>
    private static string? Code(ControlErrorKind? failure, int status) => failure switch
    {
        null => status >= 400 ? "backend_error" : null,
        ControlErrorKind.InvalidRequest => ErrorCodes.InvalidRequest,
        ControlErrorKind.RequestTooLarge => ErrorCodes.RequestTooLarge,
        ControlErrorKind.NotFound => ErrorCodes.NotFound,
        ControlErrorKind.Unauthorized => ErrorCodes.InvalidApiKey,
        ControlErrorKind.PolicyRejection => ErrorCodes.ContentPolicyViolation,
        ControlErrorKind.BackendUnavailable => ErrorCodes.BackendUnavailable,
        ControlErrorKind.BackendTimeout => ErrorCodes.BackendTimeout,
        ControlErrorKind.BackendInvalidResponse => ErrorCodes.BackendInvalidResponse,
        ControlErrorKind.BackendError => "backend_error",
        ControlErrorKind.PolicyFailure => ErrorCodes.PolicyError,
        ControlErrorKind.ClientDisconnected => "client_disconnected",
        _ => ErrorCodes.ServerError,
    };
}
