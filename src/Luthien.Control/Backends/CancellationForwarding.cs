namespace Luthien.Control.Backends;

/// <summary>
/// One cancellation source for a backend wait that has two causes — its own clock, and the client's token — with the
/// client's cancellation forwarded by a registration: cheaper than a linked source, which would register on both.
/// </summary>
internal static class CancellationForwarding
{
    /// <summary>Cancels <paramref name="target"/> when <paramref name="source"/> is cancelled, until disposed.</summary>
    public static CancellationTokenRegistration ForwardTo(this CancellationToken source, CancellationTokenSource target) =>
        source.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), target);
}
