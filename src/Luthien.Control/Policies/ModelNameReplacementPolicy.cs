
namespace Luthien.Control;

/// <summary>Options of <see cref="ModelNameReplacementPolicy"/> (<c>ModelNameReplacement</c> in policy files).</summary>
internal sealed class ModelNameReplacementOptions : PolicyOptions
{
    /// <summary>Model names clients use, mapped to the names sent to the backend.</summary>
    public IDictionary<string, string> ModelMapping { get; set; } = new Dictionary<string, string>();
}

/// <summary>Replaces the request's <c>model</c> according to a mapping; models not in it pass unchanged.</summary>
public sealed class ModelNameReplacementPolicy : ControlPolicy
{
    private readonly Dictionary<string, string> _mapping;

    /// <summary>Creates the policy.</summary>
    /// <param name="modelMapping">Client model name → backend model name.</param>
    public ModelNameReplacementPolicy(IEnumerable<KeyValuePair<string, string>> modelMapping)
    {
        ArgumentNullException.ThrowIfNull(modelMapping);
        _mapping = new Dictionary<string, string>(modelMapping, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (transaction.Request.Model is { } model && _mapping.TryGetValue(model, out var replacement))
        {
            transaction.Request.Model = replacement;
            transaction.RecordDecision(new PolicyDecision("ModelNameReplacement", "replace", $"{model} -> {replacement}"));
        }

        return next(transaction, cancellationToken);
    }
}
