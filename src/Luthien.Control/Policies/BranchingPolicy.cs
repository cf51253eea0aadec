
namespace Luthien.Control;

/// <summary>
/// Applies the policy of the first condition that holds, else the default policy (if any), with whatever follows this
/// policy as its <c>next</c>; with no branch taken the pipeline goes straight on. The conditions are tried in the order
/// the policy file lists them.
/// </summary>
public sealed class BranchingPolicy : ControlPolicy
{
    private readonly KeyValuePair<Condition, ControlPolicy>[] _branches;

    /// <summary>Creates the policy.</summary>
    /// <param name="branches">Condition → policy, in order.</param>
    /// <param name="defaultPolicy">Applied when no condition holds; <see langword="null"/> for none.</param>
    public BranchingPolicy(IEnumerable<KeyValuePair<Condition, ControlPolicy>> branches, ControlPolicy? defaultPolicy = null)
    {
        ArgumentNullException.ThrowIfNull(branches);
        _branches = [.. branches];
        DefaultPolicy = defaultPolicy;
    }

    /// <summary>The branches, in order.</summary>
    public IReadOnlyList<KeyValuePair<Condition, ControlPolicy>> Branches => _branches;

    /// <summary>The policy applied when no condition holds.</summary>
    public ControlPolicy? DefaultPolicy { get; }

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        foreach (var (condition, policy) in _branches)
        {
            if (condition.Evaluate(transaction))
            {
                return policy.ApplyAsync(transaction, next, cancellationToken);
            }
        }

        return DefaultPolicy is { } fallback ? fallback.ApplyAsync(transaction, next, cancellationToken) : next(transaction, cancellationToken);
    }
}
