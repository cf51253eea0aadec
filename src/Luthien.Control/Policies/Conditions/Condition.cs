namespace Luthien.Control;

/// <summary>
/// A test on a transaction, used by <see cref="BranchingPolicy"/> to pick a branch. Derive from it, or build one from
/// luthien_control's JSON form with <see cref="Parse"/>.
/// </summary>
/// <example>
/// <code>
/// var isMini = Condition.Parse("""{"type":"regex_match","left":{"type":"transaction_path","path":"request.payload.model"},"right":{"type":"static","value":"mini$"}}""");
/// var branch = new BranchingPolicy([new(isMini, cheapChain)], defaultPolicy: fullChain);
/// </code>
/// </example>
public abstract class Condition
{
    /// <summary>Evaluates the condition.</summary>
    /// <param name="transaction">The transaction.</param>
    public abstract bool Evaluate(Transaction transaction);

    /// <summary>
    /// Reads a condition in luthien_control's JSON form: <c>equals</c>, <c>not_equals</c>, <c>contains</c>,
    /// <c>regex_match</c>, <c>less_than</c>, <c>less_than_or_equal</c>, <c>greater_than</c>,
    /// <c>greater_than_or_equal</c> over <c>left</c>/<c>right</c> values (<c>static</c> or <c>transaction_path</c>), and
    /// <c>all</c>, <c>any</c>, <c>not</c>.
    /// </summary>
    /// <param name="json">The condition's JSON.</param>
    /// <exception cref="FormatException">The JSON is not a condition; the message says where and why.</exception>
    public static Condition Parse(string json) => ConditionParser.Parse(json);
}
