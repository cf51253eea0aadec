using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Writes a pass-through answer as it arrives, with the transport's one copier (activity timeout, backpressure). A
/// backend failure before the first byte is still a proper HTTP error; after it, the connection is cut, since a raw
/// body has no error event and must not be taken for whole.
/// </summary>
internal sealed partial class PassthroughResponseWriter(IOptionsMonitor<LuthienOptions> options, TimeProvider timeProvider, ILogger<PassthroughResponseWriter> logger)
{
    /// <summary>Writes the head and copies the body.</summary>
    /// <param name="context">The exchange.</param>
    /// <param name="transaction">The transaction.</param>
    /// <param name="body">The backend's answer; disposed once copied.</param>
    /// <returns>The backend failure that cut the answer after it began, if any; the caller records it.</returns>
    public async Task<ControlErrorKind?> WriteAsync(HttpContext context, Transaction transaction, Stream body)
    {
        ResponseHead.Write(context, transaction, transaction.Response.StatusCode!.Value, transaction.Response.ContentType);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            // The same activity timeout as streams: a backend that sends headers and then nothing does not hold the
            // connection for ever.
            await PassthroughCopier.CopyAsync(body, context.Response.Body, timeProvider, options.CurrentValue.Timeouts.Idle, transaction.CancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (BackendException) when (!context.Response.HasStarted)
        {
            // Nothing sent yet (the head goes out with the first bytes): still a proper HTTP error.
            throw;
        }
        catch (BackendException ex)
        {
            var error = ErrorMapping.MapMidStream(ex, clientGone: false);
            LogCutOff(logger, transaction.Id, error.Code, error.LoggedException);
            context.Abort();
            return error.Kind;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: the pass-through answer broke off after output began ({Code}); the connection was cut.")]
    private static partial void LogCutOff(ILogger logger, string transactionId, string code, Exception exception);
}
