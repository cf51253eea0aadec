namespace Luthien.Control.Policies.Conditions;

/// <summary>A test on a transaction, used by <see cref="BranchingPolicy"/> to pick a branch.</summary>
public abstract class Condition
{
    /// <summary>Evaluates the condition.</summary>
    /// <param name="transaction">The transaction.</param>
    public abstract bool Evaluate(Transaction transaction);
}
