namespace Luthien.Control;

/// <summary>Sends a transaction's request to the model backend and stores the answer in its response.</summary>
public interface IBackendClient
{
    /// <summary>Sends the request and sets <see cref="Transaction.Response"/>.</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="cancellationToken">Fires when the client goes away; cancels the backend request.</param>
    /// <exception cref="BackendException">The backend could not be reached or timed out.</exception>
    ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken);
}
