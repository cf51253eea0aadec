namespace Luthien.Control;

/// <summary>
/// The library's one clock for waiting on a backend: a token that fires when the backend stays silent past a deadline
/// or when the client goes away, and tells the two apart afterwards. Every backend wait uses it: sending the request (up
/// to the response headers, in both backend clients) and every read of the answer (<see cref="BackendReadStream"/>).
/// </summary>
/// <remarks>
/// The client's cancellation is forwarded by a registration, which is cheaper than a linked source (that would register
/// on both tokens). The clock does not run until <see cref="Start"/>, so a wait that is not the backend's (a slow client
/// writing) is never counted as the backend's silence.
/// </remarks>
internal sealed class BackendTimer : IDisposable, IAsyncDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenRegistration _forward;

    /// <summary>Creates the clock, stopped.</summary>
    /// <param name="timeProvider">The clock's time source.</param>
    /// <param name="clientToken">The client's cancellation, forwarded to <see cref="Token"/>.</param>
    public BackendTimer(TimeProvider timeProvider, CancellationToken clientToken)
    {
        ClientToken = clientToken;
        _timer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        _forward = clientToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _timer);
    }

    /// <summary>Creates the clock and starts it.</summary>
    /// <param name="timeProvider">The clock's time source.</param>
    /// <param name="timeout">How long the backend may take.</param>
    /// <param name="clientToken">The client's cancellation, forwarded to <see cref="Token"/>.</param>
    public static BackendTimer Started(TimeProvider timeProvider, TimeSpan timeout, CancellationToken clientToken)
    {
        var timer = new BackendTimer(timeProvider, clientToken);
        timer.Start(timeout);
        return timer;
    }

    /// <summary>Cancelled when the deadline passes or the client goes away; pass it to the backend wait.</summary>
    public CancellationToken Token => _timer.Token;

    /// <summary>The client's own cancellation.</summary>
    public CancellationToken ClientToken { get; }

    /// <summary>Whether the deadline fired, not the client: the wait's cancellation is then the backend's timeout.</summary>
    public bool TimedOut => _timer.IsCancellationRequested && !ClientToken.IsCancellationRequested;

    /// <summary>(Re)starts the deadline from now.</summary>
    /// <param name="timeout">How long the backend may take.</param>
    public void Start(TimeSpan timeout) => _timer.CancelAfter(timeout);

    /// <summary>Stops the deadline until the next <see cref="Start"/>.</summary>
    public void Stop() => _timer.CancelAfter(Timeout.InfiniteTimeSpan);

    /// <inheritdoc />
    public void Dispose()
    {
        _forward.Dispose();
        _timer.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _forward.DisposeAsync().ConfigureAwait(false);
        _timer.Dispose();
    }
}
