namespace Luthien.Control;

/// <summary>
/// A step that acts on a <see cref="Transaction"/>: it may check, rewrite or reject the request, call the backend, or
/// inspect and change the response. Policies compose into chains; subclass this to write your own.
/// </summary>
/// <example>
/// <code>
/// public sealed class RequireModelPolicy : ControlPolicy
/// {
///     public override ValueTask ApplyAsync(Transaction transaction, CancellationToken cancellationToken)
///     {
///         if (transaction.Request.Chat is { Model: null })
///             throw new InvalidRequestException("'model' is required.", "model");
///         return ValueTask.CompletedTask;
///     }
/// }
/// </code>
/// </example>
public abstract class ControlPolicy
{
    /// <summary>The policy's name in logs; defaults to its type name.</summary>
    public string Name { get; set; }

    /// <summary>Initializes the policy with its type name as <see cref="Name"/>.</summary>
    protected ControlPolicy() => Name = GetType().Name;

    /// <summary>Applies the policy.</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    /// <exception cref="ControlPolicyException">The policy rejects the transaction; the client gets the error.</exception>
    public abstract ValueTask ApplyAsync(Transaction transaction, CancellationToken cancellationToken);

    /// <inheritdoc />
    public override string ToString() => Name;
}
