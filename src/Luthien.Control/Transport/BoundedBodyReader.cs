namespace Luthien.Control;

/// <summary>
/// Reads a whole body (a client's request, a backend's buffered answer) within a limit. Memory follows the bytes that
/// actually arrived, never a declared <c>Content-Length</c>: a client that declares 10 MiB and trickles 1 KiB costs a
/// small buffer, not 10 MiB. The buffer doubles as it fills, so at most about twice what arrived is held. The limit
/// itself is the one <see cref="BoundedReadStream"/> enforces on a streamed body.
/// </summary>
internal static class BoundedBodyReader
{
    /// <summary>The first buffer's size when more is expected (smaller when the declared length is smaller).</summary>
    internal const int InitialBytes = 16 * 1024;

    /// <summary>Reads the body.</summary>
    /// <param name="body">The body. Its own failures (timeouts, I/O) pass as they are; it is left open.</param>
    /// <param name="declaredLength">The declared length, if any: refused at once when over <paramref name="limit"/>; a
    /// body that ends before it is <paramref name="truncated"/>. It never sizes a buffer beyond <see cref="InitialBytes"/>.</param>
    /// <param name="limit">The most bytes accepted; checked as bytes arrive.</param>
    /// <param name="tooLarge">The error for a body over the limit (it gets the limit).</param>
    /// <param name="truncated">The error for a body shorter than its declared length.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The body; the caller disposes it.</returns>
    public static async ValueTask<BodyBuffer> ReadAsync(
        Stream body, long? declaredLength, long limit, Func<long, Exception> tooLarge, Func<Exception> truncated, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (declaredLength > limit)
        {
            throw tooLarge(limit);
        }

        var bounded = new BoundedReadStream(body, limit, tooLarge);

        // One byte past the limit is room enough for the bounded stream to see that an undeclared body is over it.
        var most = (int)Math.Min(declaredLength ?? limit + 1, Array.MaxLength);
        var buffer = BodyBuffer.Allocate(Math.Min(most, InitialBytes));
        try
        {
            while (buffer.Length < most)
            {
                if (buffer.Length == buffer.Capacity)
                {
                    buffer.Grow((int)Math.Min((long)buffer.Capacity * 2, most));
                }

                var free = buffer.Free;
                var count = await bounded.ReadAsync(free[..Math.Min(free.Length, most - buffer.Length)], cancellationToken).ConfigureAwait(false);
                if (count == 0)
                {
                    break;
                }

                buffer.Advance(count);
            }

            if (buffer.Length < declaredLength)
            {
                throw truncated();
            }

            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }
}
