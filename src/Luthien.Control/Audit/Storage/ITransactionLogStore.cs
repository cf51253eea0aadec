namespace Luthien.Control;

/// <summary>A database holding <c>luthien_log</c>: written in batches by the log writer, read by the admin area.</summary>
internal interface ITransactionLogStore
{
    /// <summary>Creates the schema if missing and brings it to the current version; safe when instances start together.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Writes rows in one database transaction: all or none. A row already written (same transaction id and
    /// datatype, from a retried batch whose commit was not acknowledged) is left as it is.
    /// </summary>
    /// <param name="rows">The rows.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task WriteAsync(IReadOnlyList<TransactionLogRow> rows, CancellationToken cancellationToken);

    /// <summary>Whether the database answers (a trivial query).</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task<bool> PingAsync(CancellationToken cancellationToken);

    /// <summary>The <c>outcome</c> rows of the transactions that match, newest first.</summary>
    /// <param name="query">The filters.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task<IReadOnlyList<TransactionLogRow>> QueryOutcomesAsync(TransactionQuery query, CancellationToken cancellationToken);

    /// <summary>Every row of one transaction, in the order written.</summary>
    /// <param name="transactionId">The transaction's id.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task<IReadOnlyList<TransactionLogRow>> GetTransactionAsync(string transactionId, CancellationToken cancellationToken);
}
