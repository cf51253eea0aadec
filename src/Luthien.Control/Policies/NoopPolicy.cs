namespace Luthien.Control;

/// <summary>Does nothing; a placeholder in a chain or a branch.</summary>
public sealed class NoopPolicy : ControlPolicy
{
    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken) => next(transaction, cancellationToken);
}
