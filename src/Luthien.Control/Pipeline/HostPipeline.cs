
namespace Luthien.Control;

/// <summary>
/// What the host runs for a transaction: its own steps around the root policy, outermost first — telemetry, usage, then
/// the root — composed as middleware like any policy. The root never knows the steps are there. The root is read once
/// per transaction, so a transaction (and its stream) runs on one chain from start to end even if a reload puts another
/// in force meanwhile; the steps are composed again only when the root changes.
/// </summary>
internal sealed class HostPipeline
{
    private readonly Func<ControlPolicy> _root;
    private readonly TelemetryStep _telemetry;
    private readonly UsageStep _usage;
    private volatile Composed? _composed;

    /// <summary>Runs the steps around the app's root policy (built on first use).</summary>
    /// <param name="root">The root policy.</param>
    /// <param name="telemetry">The telemetry step.</param>
    /// <param name="usage">The usage step.</param>
    public HostPipeline(RootPolicyProvider root, TelemetryStep telemetry, UsageStep usage)
        : this(() => root.Root, telemetry, usage)
    {
    }

    /// <summary>Runs the steps around the given root policy (read per transaction).</summary>
    internal HostPipeline(Func<ControlPolicy> root, TelemetryStep telemetry, UsageStep usage)
    {
        _root = root;
        _telemetry = telemetry;
        _usage = usage;
    }

    /// <summary>Runs the steps and the root policy; when it returns, the response is set (or it threw).</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    public ValueTask RunAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        var root = _root();
        var composed = _composed;
        if (composed is null || !ReferenceEquals(composed.Root, root))
        {
            // Two transactions racing past a reload may both compose: either result serves.
            composed = new Composed(root, new SerialPolicy([_telemetry, _usage, root]) { Name = "host" });
            _composed = composed;
        }

        transaction.Root = root;
        return composed.Pipeline.RunAsync(transaction, cancellationToken);
    }

    private sealed record Composed(ControlPolicy Root, ControlPolicy Pipeline);
}
