using System.Buffers;

namespace Luthien.Control;

/// <summary>
/// Copies a pass-through answer from the backend to the client as it arrives: through <see cref="BackendReadStream"/>
/// (the activity timeout, the client's cancellation, transport failures as <see cref="BackendException"/>), one pooled
/// buffer, and a flush after every piece. The flush waits while the client is behind, so the backend is read only as
/// fast as the client takes the answer, and at most one buffer of it is held.
/// </summary>
internal static class PassthroughCopier
{
    /// <summary>The most bytes read from the backend before they are written on.</summary>
    internal const int BufferBytes = 16 * 1024;

    /// <summary>Copies <paramref name="body"/> to <paramref name="destination"/> until the body ends, then disposes the body.</summary>
    /// <param name="body">The backend's answer.</param>
    /// <param name="destination">The client's response body.</param>
    /// <param name="timeProvider">The clock for the activity timeout.</param>
    /// <param name="idle">Longest silence of the backend while a read waits.</param>
    /// <param name="cancellationToken">The client's cancellation.</param>
    /// <exception cref="BackendException">The backend went silent or its answer broke off.</exception>
    public static async Task CopyAsync(Stream body, Stream destination, TimeProvider timeProvider, TimeSpan idle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var backend = new BackendReadStream(body, timeProvider, idle, firstEvent: null, maxEventBytes: 0, cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            int read;
            while ((read = await backend.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await backend.DisposeAsync().ConfigureAwait(false);
        }
    }
}
