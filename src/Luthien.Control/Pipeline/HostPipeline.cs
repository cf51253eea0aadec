
namespace Luthien.Control;

/// <summary>
/// What the host runs for a transaction: its own steps around the root policy, outermost first — telemetry, usage, then
/// the root — composed once, as middleware like any policy. The root never knows the steps are there.
/// </summary>
internal sealed class HostPipeline
{
    private readonly Lazy<ControlPolicy> _pipeline;

    /// <summary>Runs the steps around the app's root policy (built on first use).</summary>
    /// <param name="root">The root policy.</param>
    /// <param name="telemetry">The telemetry step.</param>
    /// <param name="usage">The usage step.</param>
    public HostPipeline(RootPolicyProvider root, TelemetryStep telemetry, UsageStep usage)
        : this(() => root.Root, telemetry, usage)
    {
    }

    /// <summary>Runs the steps around the given root policy (built on first use).</summary>
    internal HostPipeline(Func<ControlPolicy> root, TelemetryStep telemetry, UsageStep usage) =>
        _pipeline = new(() => new SerialPolicy([telemetry, usage, root()]) { Name = "host" });

    /// <summary>Runs the steps and the root policy; when it returns, the response is set (or it threw).</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    public ValueTask RunAsync(Transaction transaction, CancellationToken cancellationToken) =>
        _pipeline.Value.RunAsync(transaction, cancellationToken);
}
