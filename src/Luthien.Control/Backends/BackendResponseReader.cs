using System.Buffers;
using System.Net.Http.Headers;
using Luthien.Control.Streaming;

namespace Luthien.Control.Backends;

/// <summary>Stores a backend's answer in a transaction, whichever client received it.</summary>
internal static class BackendResponseReader
{
    /// <summary>
    /// Pass-through requests keep the body as a stream; a successful event stream becomes a chunk iterator;
    /// anything else (JSON, backend errors) is read whole, within the size limit. <c>owner</c> is released once the
    /// answer has been consumed (by the iterator, for streams).
    /// </summary>
    public static async ValueTask ApplyAsync(
        Transaction transaction,
        int status,
        string? contentType,
        long? contentLength,
        Stream body,
        IDisposable owner,
        LuthienOptions options,
        IStreamingResponseReader streamReader,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var target = transaction.Response;
        if (transaction.Request.Kind == RequestKind.Passthrough)
        {
            target.SetBodyStream(status, body, contentType);
            target.Owner = owner;
        }
        else if (status is >= 200 and < 300 && IsEventStream(contentType))
        {
            // The iterator owns the backend response from here on and releases it when disposed.
            target.SetStream(status, streamReader.Read(body, owner, options.Timeouts.FirstChunk, options.Timeouts.Idle));
        }
        else
        {
            var bytes = await ReadBoundedAsync(body, contentLength, options.Limits.MaxResponseBodyBytes, options.Timeouts.Idle, timeProvider, cancellationToken).ConfigureAwait(false);
            target.SetBody(status, bytes, contentType);
            owner.Dispose();
        }
    }

    private static bool IsEventStream(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var parsed) &&
        string.Equals(parsed.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads a whole body, failing past <paramref name="limit"/> bytes or after <paramref name="idle"/> of silence. With a
    /// declared length the body is read straight into an array of that size.
    /// </summary>
    internal static async Task<byte[]> ReadBoundedAsync(Stream body, long? contentLength, long limit, TimeSpan idle, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (contentLength > limit)
        {
            throw TooLarge(limit);
        }

        using var idleCts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        using var forward = cancellationToken.ForwardTo(idleCts);
        async ValueTask<int> ReadAsync(Memory<byte> into)
        {
            idleCts.CancelAfter(idle);
            try
            {
                return await body.ReadAsync(into, idleCts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (idleCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw BackendException.Timeout("its response body");
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw BackendException.Unavailable(ex);
            }
        }

        if (contentLength is { } length)
        {
            var exact = new byte[length];
            var filled = 0;
            int read;
            while (filled < exact.Length && (read = await ReadAsync(exact.AsMemory(filled)).ConfigureAwait(false)) > 0)
            {
                filled += read;
            }

            return filled == exact.Length ? exact : throw BackendException.Unavailable(new IOException("The backend's response ended before its declared length."));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var collected = new MemoryStream();
            int read;
            while ((read = await ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                if (collected.Length + read > limit)
                {
                    throw TooLarge(limit);
                }

                collected.Write(buffer, 0, read);
            }

            return collected.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ControlPolicyException TooLarge(long limit) =>
        new(502, ErrorCodes.BackendUnavailable, $"The backend's response is larger than the limit of {limit} bytes.", "server_error");

}
