namespace Luthien.Control;

/// <summary>
/// Applies its policies in order, each with the rest of the list (and then whatever follows this policy) as its
/// <c>next</c>; the first that throws stops the chain. luthien_control's serial policy lists compile onto it as they are.
/// </summary>
public sealed class SerialPolicy : ControlPolicy
{
    private readonly ControlPolicy[] _policies;

    /// <summary>
    /// The continuations for a run where nothing follows this policy (the usual root), made once instead of per request.
    /// </summary>
    private readonly PolicyDelegate?[] _rootSteps;

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

        _rootSteps = new PolicyDelegate?[_policies.Length + 1];
    }

    /// <summary>The policies, in order.</summary>
    public IReadOnlyList<ControlPolicy> Policies => _policies;

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        return ApplyFromAsync(0, transaction, next, cancellationToken);
    }

    private ValueTask ApplyFromAsync(int index, Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        if (index == _policies.Length)
        {
            return next(transaction, cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return _policies[index].ApplyAsync(transaction, Rest(index + 1, next), cancellationToken);
    }

    /// <summary>The pipeline from <paramref name="index"/> on, then <paramref name="next"/>.</summary>
    private PolicyDelegate Rest(int index, PolicyDelegate next)
    {
        if (index == _policies.Length)
        {
            return next;
        }

        return ReferenceEquals(next, End) ? _rootSteps[index] ??= Step(index, End) : Step(index, next);
    }

    // Its own method: a lambda in Rest would make the compiler allocate the captured variables on every call.
    private PolicyDelegate Step(int index, PolicyDelegate next) => (t, c) => ApplyFromAsync(index, t, next, c);
}
