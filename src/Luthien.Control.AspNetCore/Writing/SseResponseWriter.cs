using Luthien.Control.Streaming;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Writes a streamed answer as server-sent events: flushed as events exist, batched only while the next one is already
/// at hand and never past a bound (so the client's pace limits the backend read), each chunk's bytes as the client would
/// have had them had the library not asked for usage, and every failure after the first byte turned into an error event.
/// </summary>
/// <remarks>
/// Measuring the stream and keeping the usage chunk from the client are pipeline steps (<c>TelemetryStep</c>,
/// <c>UsageStep</c>), wrapped around the stream before it gets here; this writer only writes what it is given.
/// </remarks>
internal sealed partial class SseResponseWriter(IOptionsMonitor<LuthienOptions> options, ILogger<SseResponseWriter> logger)
{
    /// <summary>
    /// Nothing is sent before the first chunk exists, so a failure before it still becomes a proper HTTP error.
    /// After it, a failure becomes an error event and the stream ends without <c>[DONE]</c>.
    /// </summary>
    /// <returns>What ended the stream after it began, if it did not end well; the caller records it.</returns>
    public async Task<ControlErrorKind?> WriteAsync(HttpContext context, Transaction transaction, StreamingResponseIterator stream, StreamTranscript? transcript = null)
    {
        var cancellationToken = transaction.CancellationToken;
        var enumerator = stream.GetAsyncEnumerator(cancellationToken);
        await using (enumerator.ConfigureAwait(false))
        {
            var hasChunk = await enumerator.MoveNextAsync().ConfigureAwait(false);
            ResponseHead.Write(context, transaction, transaction.Response.StatusCode ?? StatusCodes.Status200OK, ContentTypes.EventStream);
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            // A Responses stream names each event's type, and ends with its last event rather than [DONE].
            var responses = transaction.Request.Kind == RequestKind.Responses;
            var writer = new SseEventWriter(context.Response.BodyWriter) { WriteEventTypes = responses };

            // The library asked the backend for usage on its own (UsageStep), so every chunk may carry a "usage":null
            // the client did not ask for: cut here, from the bytes, where that costs no copy of the chunk.
            var cutNullUsage = transaction.Request.AsksUsageClientDidNot;

            // Events already at hand are batched into one write, but never more than this before a flush: the flush
            // waits while the client is behind, so a fast backend is read only as fast as the client takes the answer.
            var flushAt = Math.Min(options.CurrentValue.Limits.MaxPendingBytes / 2, MaxBatchBytes);
            try
            {
                while (hasChunk)
                {
                    var chunk = enumerator.Current;

                    // A chunk the policies left nothing of is not written.
                    var isError = false;
                    if (!chunk.Data.IsEmpty)
                    {
                        isError = chunk.IsError;
                        if (cutNullUsage)
                        {
                            WriteWithoutAddedUsage(writer, chunk);
                        }
                        else
                        {
                            writer.WriteChunk(chunk);
                        }

                        transcript?.Add(chunk.Data.Span);
                    }

                    // The pipe holds a copy of the bytes now: the chunk's pooled buffer can be reused.
                    chunk.Release();
                    if (isError)
                    {
                        // The backend reported an error mid-stream: forwarded, and the stream ends without [DONE].
                        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                        LogUpstreamErrorEvent(logger, transaction.Id);
                        return ControlErrorKind.BackendError;
                    }

                    // Flush before waiting: events already at hand go out together, and none waits in the buffer.
                    var next = enumerator.MoveNextAsync();
                    if (!next.IsCompleted || writer.PendingBytes >= flushAt)
                    {
                        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }

                    hasChunk = await next.ConfigureAwait(false);
                }

                if (responses)
                {
                    await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await writer.WriteDoneAsync(cancellationToken).ConfigureAwait(false);
                }

                return null;
            }
            catch (Exception ex)
            {
                var error = ErrorMapping.MapMidStream(ex, cancellationToken.IsCancellationRequested);
                if (error.Kind == ControlErrorKind.ClientDisconnected)
                {
                    LogClientGone(logger, transaction.Id);
                    return error.Kind;
                }

                LogStreamFailed(logger, transaction.Id, error.Code, error.LoggedException);
                await TryWriteErrorEventAsync(writer, error).ConfigureAwait(false);
                if (ControlErrorKinds.IsBackendFailure(error.Kind))
                {
                    // The backend's stream broke: abort, so no client can take the partial answer for a complete one.
                    // The error event was flushed into the response, but an abort drops what the transport has not sent
                    // yet: give it a moment first, or the client gets the cut without the reason.
                    await WaitForErrorEventToLeaveAsync().ConfigureAwait(false);
                    context.Abort();
                }

                return error.Kind;
            }
        }
    }

    /// <summary>The most bytes of events collected before they are handed to the response and flushed.</summary>
    private const int MaxBatchBytes = 32 * 1024;

    /// <summary>How long an aborted stream waits for its error event to leave; failures only, never on a good stream.</summary>
    private static readonly TimeSpan ErrorEventGrace = TimeSpan.FromMilliseconds(100);

    private static Task WaitForErrorEventToLeaveAsync() => Task.Delay(ErrorEventGrace);

    /// <summary>
    /// Writes a chunk as the client would have received it had the library not asked for usage: the backend then adds
    /// <c>"usage":null</c> to every chunk, which is cut out (from the bytes when unchanged, else from the JSON).
    /// </summary>
    private static void WriteWithoutAddedUsage(SseEventWriter writer, StreamChunk chunk)
    {
        if (!chunk.IsModified)
        {
            var data = chunk.Data.Span;
            var cut = StreamUsage.FindNullUsageMember(data, out var length);
            if (cut < 0)
            {
                writer.WriteChunk(chunk);
                return;
            }

            if (data.IndexOfAny((byte)'\n', (byte)'\r') < 0)
            {
                writer.WriteEvent(data[..cut], data[(cut + length)..]);
                return;
            }
        }

        // Rewritten by a policy, or spread over several data lines: cut it from the JSON and write that.
        if (chunk.Json is { } json && json.TryGetPropertyValue("usage", out var usage) && usage is null)
        {
            json.Remove("usage");
            chunk.MarkModified();
        }

        writer.WriteChunk(chunk);
    }

    private static async Task TryWriteErrorEventAsync(SseEventWriter writer, ControlError error)
    {
        try
        {
            await error.WriteEventAsync(writer, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client is gone; nothing more to tell it.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: the client went away; the backend request was cancelled.")]
    private static partial void LogClientGone(ILogger logger, string transactionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: the backend sent an error event mid-stream; forwarded, stream ended without [DONE].")]
    private static partial void LogUpstreamErrorEvent(ILogger logger, string transactionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: stream failed after output began ({Code}); the client got an error event, no [DONE].")]
    private static partial void LogStreamFailed(ILogger logger, string transactionId, string code, Exception exception);
}
