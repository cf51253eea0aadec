namespace Luthien.Control;

/// <summary>True when every inner condition is (<c>all</c>); true for none.</summary>
/// <param name="conditions">The inner conditions.</param>
internal sealed class AllCondition(IReadOnlyList<Condition> conditions) : Condition
{
    /// <summary>The inner conditions.</summary>
    public IReadOnlyList<Condition> Conditions { get; } = conditions ?? throw new ArgumentNullException(nameof(conditions));

    /// <inheritdoc />
    public override bool Evaluate(Transaction transaction) => Conditions.All(c => c.Evaluate(transaction));
}

/// <summary>True when at least one inner condition is (<c>any</c>); false for none.</summary>
/// <param name="conditions">The inner conditions.</param>
internal sealed class AnyCondition(IReadOnlyList<Condition> conditions) : Condition
{
    /// <summary>The inner conditions.</summary>
    public IReadOnlyList<Condition> Conditions { get; } = conditions ?? throw new ArgumentNullException(nameof(conditions));

    /// <inheritdoc />
    public override bool Evaluate(Transaction transaction) => Conditions.Any(c => c.Evaluate(transaction));
}

/// <summary>Negates its inner condition (<c>not</c>).</summary>
/// <param name="inner">The inner condition.</param>
internal sealed class NotCondition(Condition inner) : Condition
{
    /// <summary>The inner condition.</summary>
    public Condition Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <inheritdoc />
    public override bool Evaluate(Transaction transaction) => !Inner.Evaluate(transaction);
}
