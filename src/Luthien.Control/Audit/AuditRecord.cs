using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// What the audit log keeps of one finished transaction, captured cheaply when its response has ended (bytes and
/// plain values, no tree); turned into its <c>request</c>, <c>response</c> and <c>outcome</c> rows off the request path.
/// </summary>
internal sealed class AuditRecord : IDisposable
{
    /// <summary>The transaction's id.</summary>
    public required string TransactionId { get; init; }

    /// <summary>When the transaction started, UTC.</summary>
    public required DateTime StartedAt { get; init; }

    /// <summary>When its response ended, UTC.</summary>
    public required DateTime EndedAt { get; init; }

    /// <summary>The API: <c>chat.completions</c>, <c>responses</c>, <c>completions</c> or <c>passthrough</c>; <see langword="null"/> when refused before it was known.</summary>
    public string? Api { get; init; }

    /// <summary>The HTTP method.</summary>
    public required string Method { get; init; }

    /// <summary>The path as logs show it (a refused path is a fixed label, never the client's text).</summary>
    public required string Path { get; init; }

    /// <summary>The model the client asked for.</summary>
    public string? Model { get; init; }

    /// <summary>The model the backend was asked for, when a policy changed it.</summary>
    public string? BackendModel { get; init; }

    /// <summary>Whether the client asked for a stream.</summary>
    public bool Stream { get; init; }

    /// <summary>The request's headers, credentials already hidden.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>The body as it was sent to the backend (or refused), UTF-8 JSON; <see langword="null"/> when unread or not JSON.</summary>
    public byte[]? RequestBody { get; init; }

    /// <summary>
    /// Whether the body was withheld because the client was not authenticated: anyone who can reach the proxy could
    /// otherwise fill the database (and its writer) with bodies nobody vouched for.
    /// </summary>
    public bool RequestBodyWithheld { get; init; }

    /// <summary>Whether the body was larger than the log keeps (then it is not stored).</summary>
    public bool RequestTruncated { get; init; }

    /// <summary>The body's size in bytes, when known.</summary>
    public long? RequestBodyBytes { get; init; }

    /// <summary>The HTTP status the client got.</summary>
    public required int Status { get; init; }

    /// <summary>The error code the client got; <see langword="null"/> when served.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>What policies decided.</summary>
    public IReadOnlyList<PolicyDecision> Decisions { get; init; } = [];

    /// <summary>A stream's usage report, when one was seen (a buffered answer's is read from its body, off the request path).</summary>
    public JsonObject? Usage { get; init; }

    /// <summary>Milliseconds from the request to the end of the response.</summary>
    public required double DurationMs { get; init; }

    /// <summary>Who sent the request.</summary>
    public ClientIdentity? Client { get; init; }

    /// <summary>A buffered answer's body as the client got it, UTF-8 JSON; <see langword="null"/> when none or streamed.</summary>
    public byte[]? ResponseBody { get; init; }

    /// <summary>Whether the buffered answer was larger than the log keeps (then it is not stored).</summary>
    public bool ResponseTruncated { get; init; }

    /// <summary>A streamed answer as the client got it; owned (and disposed) by the record.</summary>
    public StreamTranscript? Transcript { get; init; }

    /// <summary>
    /// About how many bytes the record holds while it waits in the queue: the bodies, and the text it keeps besides them
    /// (a model name can be as long as the request allows, even when the body itself was too large to keep).
    /// </summary>
    public long Size => 512 + (RequestBody?.Length ?? 0) + (ResponseBody?.Length ?? 0) + (Transcript?.Bytes ?? 0) + (2L * TextLength);

    private long TextLength
    {
        get
        {
            long length = Path.Length + (Model?.Length ?? 0) + (BackendModel?.Length ?? 0) + (ErrorCode?.Length ?? 0) +
                (Client?.KeyName?.Length ?? 0) + (Client?.UserName?.Length ?? 0);
            foreach (var (name, value) in Headers ?? new Dictionary<string, string>())
            {
                length += name.Length + value.Length;
            }

            foreach (var decision in Decisions)
            {
                length += decision.Policy.Length + decision.Action.Length + (decision.Detail?.Length ?? 0);
            }

            return length;
        }
    }

    /// <summary>
    /// The root policy the transaction ran on (none when it was refused before any policy ran): its secrets are masked
    /// in the rows, even when a reload has put another chain in force by the time they are written.
    /// </summary>
    public ControlPolicy? Root { get; init; }

    /// <summary>Gives the transcript's buffer back.</summary>
    public void Dispose() => Transcript?.Dispose();
}
