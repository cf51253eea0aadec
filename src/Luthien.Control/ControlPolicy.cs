namespace Luthien.Control;

/// <summary>
/// A step of the policy pipeline, in the shape of ASP.NET Core middleware: it gets the <see cref="Transaction"/> and the
/// rest of the pipeline (<c>next</c>). Work on the request happens before <c>await next(…)</c>, work on the response
/// after it; a policy that rejects throws and never calls <c>next</c>, and a policy that answers on its own sets the
/// response and does not call it either. Subclass this to write your own.
/// </summary>
/// <remarks>
/// One instance serves every request at once: keep per-request state in locals or in <see cref="Transaction.Data"/>,
/// never in fields. To act on what the model says, streamed or not, derive from
/// <see cref="Streaming.StreamingControlPolicy"/> instead.
/// </remarks>
/// <example>
/// <code>
/// public sealed class RequireModelPolicy : ControlPolicy
/// {
///     public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
///     {
///         if (transaction.Request is { Payload: not null, Model: null })
///             throw new InvalidRequestException("'model' is required.", "model");
///         return next(transaction, cancellationToken);
///     }
/// }
/// </code>
/// </example>
public abstract class ControlPolicy
{
    /// <summary>The end of the pipeline: nothing more to run.</summary>
    internal static readonly PolicyDelegate End = static (_, _) => ValueTask.CompletedTask;

    /// <summary>The policy's name in logs; defaults to its type name.</summary>
    public string Name { get; set; }

    /// <summary>
    /// Where the policy stands in the definition it was loaded from (e.g. <c>$.config.policies[2]</c>), so that a check
    /// of the whole chain names the entry as the loader would; <see langword="null"/> for a policy built in code.
    /// </summary>
    internal string? DefinitionPath { get; set; }

    /// <summary>Initializes the policy with its type name as <see cref="Name"/>.</summary>
    protected ControlPolicy() => Name = GetType().Name;

    /// <summary>Applies the policy.</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="next">The rest of the pipeline; call it once to go on, or not at all to end here.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    /// <exception cref="ControlPolicyException">The policy rejects the transaction; the client gets the error.</exception>
    /// <exception cref="InvalidRequestException">The policy finds the request not valid; the client gets the error.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "'next' is the name ASP.NET Core middleware gives the rest of the pipeline.")]
    public abstract ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken);

    /// <summary>Runs this policy as the whole pipeline: nothing comes after it. This is how a host runs its root policy.</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    public ValueTask RunAsync(Transaction transaction, CancellationToken cancellationToken = default) =>
        ApplyAsync(transaction, End, cancellationToken);

    /// <inheritdoc />
    public override string ToString() => Name;
}
