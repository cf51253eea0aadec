using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>Produces one side of a comparison: a static value or a value read from the transaction.</summary>
internal abstract class ValueResolver
{
    /// <summary>Resolves the value; <see langword="null"/> stands for JSON null or a missing path.</summary>
    /// <param name="transaction">The transaction.</param>
    public abstract JsonNode? Resolve(Transaction transaction);
}

/// <summary>A value fixed in the policy file (<c>{"type":"static","value":…}</c>).</summary>
/// <param name="value">The value.</param>
internal sealed class StaticValue(JsonNode? value) : ValueResolver
{
    /// <summary>The value.</summary>
    public JsonNode? Value { get; } = value;

    /// <inheritdoc />
    public override JsonNode? Resolve(Transaction transaction) => Value;
}

/// <summary>A value read from the transaction (<c>{"type":"transaction_path","path":"request.payload.model"}</c>).</summary>
internal sealed class TransactionPathValue : ValueResolver
{
    /// <summary>Creates the resolver.</summary>
    /// <param name="path">A dotted path with at least two parts, see <see cref="TransactionPath"/>.</param>
    public TransactionPathValue(string path)
    {
        TransactionPath.Validate(path);
        Path = path;
    }

    /// <summary>The path.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override JsonNode? Resolve(Transaction transaction) => TransactionPath.Resolve(transaction, Path);
}
