namespace Luthien.Control;

/// <summary>
/// One row of <c>luthien_log</c>, luthien_control's audit table: a transaction's <c>request</c>, <c>response</c> or
/// <c>outcome</c>, its data as JSON text (secrets already masked).
/// </summary>
/// <param name="TransactionId">The transaction's id.</param>
/// <param name="Datetime">When the row's subject happened, UTC.</param>
/// <param name="Datatype">What the row holds: <see cref="TransactionLogRow.Request"/>, <see cref="TransactionLogRow.Response"/> or <see cref="TransactionLogRow.Outcome"/>.</param>
/// <param name="Data">The row's JSON.</param>
/// <param name="Notes">Optional JSON notes.</param>
internal sealed record TransactionLogRow(string TransactionId, DateTime Datetime, string Datatype, string? Data, string? Notes = null)
{
    /// <summary>The datatype of what reached the backend, or was refused.</summary>
    public const string Request = "request";

    /// <summary>The datatype of what the client got (a stream assembled as the client saw it).</summary>
    public const string Response = "response";

    /// <summary>The datatype of the transaction's outcome: status, error, decisions, usage, timings, client.</summary>
    public const string Outcome = "outcome";

    /// <summary>The row's id in the table; 0 before it is written.</summary>
    public long Id { get; init; }
}

/// <summary>A search of the audit log's transactions (by their <c>outcome</c> rows), newest first.</summary>
internal sealed record TransactionQuery
{
    /// <summary>The most transactions returned (1–1000).</summary>
    public int Limit { get; init; } = 50;

    /// <summary>Only this transaction.</summary>
    public string? TransactionId { get; init; }

    /// <summary>Only transactions answered with this HTTP status.</summary>
    public int? Status { get; init; }

    /// <summary>Only transactions for this model (as the client asked for it).</summary>
    public string? Model { get; init; }

    /// <summary>Only transactions whose client key had this name.</summary>
    public string? KeyName { get; init; }

    /// <summary>Only transactions at or after this time (UTC).</summary>
    public DateTime? From { get; init; }

    /// <summary>Only transactions before this time (UTC).</summary>
    public DateTime? To { get; init; }

    /// <summary>Only rows with an id below this one: the next page after a page whose last row had it.</summary>
    public long? BeforeId { get; init; }
}
