namespace Luthien.Control.Policies;

/// <summary>Applies its policies in order; the first that throws stops the chain.</summary>
public sealed class SerialPolicy : ControlPolicy
{
    private readonly ControlPolicy[] _policies;

    /// <summary>Creates the chain.</summary>
    /// <param name="policies">The policies, in order.</param>
    public SerialPolicy(IEnumerable<ControlPolicy> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        _policies = [.. policies];
        if (Array.IndexOf(_policies, null) >= 0)
        {
            throw new ArgumentException("A policy in the chain is null.", nameof(policies));
        }
    }

    /// <summary>The policies, in order.</summary>
    public IReadOnlyList<ControlPolicy> Policies => _policies;

    /// <inheritdoc />
    public override async ValueTask ApplyAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        foreach (var policy in _policies)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await policy.ApplyAsync(transaction, cancellationToken).ConfigureAwait(false);
        }
    }
}
