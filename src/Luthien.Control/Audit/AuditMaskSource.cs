using System.Runtime.CompilerServices;

namespace Luthien.Control;

/// <summary>
/// The audit log's masks: one per root policy, built when the first record of a transaction that ran on it is written,
/// and kept as long as that root lives. A reload of the policy file brings a new root, so the records of transactions
/// on the new chain are masked with what its policies look for (new client keys, new redaction patterns), while records
/// still queued from the old chain keep the old chain's mask.
/// </summary>
internal sealed class AuditMaskSource
{
    private readonly Func<ControlPolicy, AuditMask> _forRoot;
    private readonly Func<ControlPolicy> _current;
    private readonly ConditionalWeakTable<ControlPolicy, AuditMask> _masks = [];

    /// <summary>A mask per root policy.</summary>
    /// <param name="forRoot">Builds the mask for a root.</param>
    /// <param name="current">The root in force, for records of transactions refused before any policy ran.</param>
    public AuditMaskSource(Func<ControlPolicy, AuditMask> forRoot, Func<ControlPolicy> current)
    {
        ArgumentNullException.ThrowIfNull(forRoot);
        ArgumentNullException.ThrowIfNull(current);
        _forRoot = forRoot;
        _current = current;
    }

    /// <summary>The mask for the records of transactions that ran on <paramref name="root"/> (the root in force when none).</summary>
    /// <param name="root">The root the transaction ran on.</param>
    public AuditMask For(ControlPolicy? root) => _masks.GetValue(root ?? _current(), r => _forRoot(r));
}
