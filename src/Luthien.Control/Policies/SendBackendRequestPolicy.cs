
namespace Luthien.Control;

/// <summary>
/// Sends the request to the model backend and stores its answer in <see cref="Transaction.Response"/>: a buffered body,
/// a streamed raw body (pass-through) or a stream of chunks. Backend errors (4xx/5xx) become the response as they are.
/// Then the rest of the pipeline runs, with the response there: policies listed after this one act on it in list
/// order, before those listed ahead of it (which act once their <c>next</c> returns, innermost first). In-process
/// (<c>UseLuthienControl</c> on a chat client) it calls the inner <c>IChatClient</c> instead of the registered backend.
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
    public override async ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(next);
        await (transaction.HostBackend ?? _backend).SendAsync(transaction, cancellationToken).ConfigureAwait(false);
        await next(transaction, cancellationToken).ConfigureAwait(false);
    }
}
