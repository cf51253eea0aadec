
namespace Luthien.Control;

/// <summary>
/// One exchange between a client and the model backend: the request, the response that policies and the
/// backend build up, and a typed data bag that policies share. The same instance flows through every policy.
/// </summary>
public sealed class Transaction
{
    /// <summary>Creates a transaction for a parsed or raw request.</summary>
    /// <param name="request">The client's request.</param>
    /// <param name="id">The transaction id; a new one is made when <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that fires when the client goes away; linked to every backend call.</param>
    public Transaction(TransactionRequest request, string? id = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        Request = request;
        CancellationToken = cancellationToken;
        Id = id ?? NewId();
    }

    /// <summary>The transaction id, sent to the client as <c>x-luthien-transaction-id</c> and used in every log line.</summary>
    public string Id { get; }

    /// <summary>The client's request as policies see and change it.</summary>
    public TransactionRequest Request { get; }

    /// <summary>The response, filled by a backend-sending policy or by a policy that answers on its own.</summary>
    public TransactionResponse Response { get; } = new();

    /// <summary>Typed values that policies share, keyed by <see cref="TransactionKey{T}"/>.</summary>
    public TransactionData Data { get; } = new();

    /// <summary>Whether the client asked for a streamed (server-sent events) answer.</summary>
    public bool IsStreaming => Request.IsStreaming;

    /// <summary>Fires when the client disconnects; every backend call made for this transaction observes it.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>What policies decided, in the order they decided it; the audit log's <c>decisions</c>.</summary>
    public IReadOnlyList<PolicyDecision> Decisions
    {
        get
        {
            lock (_decisions)
            {
                return [.. _decisions];
            }
        }
    }

    /// <summary>
    /// Records what a policy decided, for the audit log. Name the action, never the text it concerned: a decision
    /// must not carry a key, a secret or anything a policy matched.
    /// </summary>
    /// <param name="decision">The decision.</param>
    public void RecordDecision(PolicyDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        lock (_decisions)
        {
            // Bounded: a policy deciding once per chunk of a long stream must not grow the record without end.
            if (_decisions.Count < MaxDecisions)
            {
                _decisions.Add(decision);
            }
        }
    }

    /// <summary>The usage the backend reported for a streamed answer, kept for the audit log (set by the host's usage step).</summary>
    internal System.Text.Json.Nodes.JsonObject? Usage { get; set; }

    /// <summary>The most decisions one transaction keeps.</summary>
    /// <summary>
    /// The backend the host gives this transaction, in place of the registered one: in-process, the inner
    /// <c>IChatClient</c> the middleware wraps. <c>SendBackendRequest</c> calls it when it is set.
    /// </summary>
    internal IBackendClient? HostBackend { get; set; }

    /// <summary>
    /// The root policy this transaction runs on, set by the host pipeline when it starts: the audit log masks its record
    /// with that chain's secrets, whatever chain a reload has put in force by the time it is written.
    /// </summary>
    internal ControlPolicy? Root { get; set; }

    internal const int MaxDecisions = 256;

    private readonly List<PolicyDecision> _decisions = [];

    /// <summary>When the transaction started.</summary>
    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// Makes a new transaction id: <c>ltx-</c>, a random per-process prefix and a counter (unique, cheap, in order within a
    /// process). For hosts that need the id before the transaction exists, e.g. to label an error response.
    /// </summary>
    public static string NewId() => TransactionIds.Next();
}
