using Luthien.Control.Backends;

namespace Luthien.Control.Policies;

/// <summary>
/// Sends the request to the model backend and stores its answer in <see cref="Transaction.Response"/>: a buffered body,
/// a streamed raw body (pass-through) or a stream of chunks. Backend errors (4xx/5xx) become the response as they are.
/// </summary>
public sealed class SendBackendRequestPolicy : ControlPolicy
{
    private readonly IBackendClient _backend;

    /// <summary>Creates the policy.</summary>
    /// <param name="backend">The backend client.</param>
    public SendBackendRequestPolicy(IBackendClient backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _backend = backend;
    }

    /// <inheritdoc />
    public override async ValueTask ApplyAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        await _backend.SendAsync(transaction, cancellationToken).ConfigureAwait(false);

        // Response-side policies that stood earlier in the chain act now, in their chain order.
        await transaction.RunResponseHooksAsync(cancellationToken).ConfigureAwait(false);
    }
}
