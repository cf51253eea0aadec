using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Tells a failure that happened before the answer began, classified by <see cref="ErrorMapping"/>: logged once by its
/// severity, then the contract's JSON error with its status — or, if the response has started after all, a cut
/// connection (never a fake success). A client that went away gets nothing.
/// </summary>
internal sealed partial class ErrorResponseWriter(ILogger<ErrorResponseWriter> logger)
{
    /// <summary>Logs a failure and, while the response has not started, answers with its JSON error.</summary>
    /// <param name="context">The exchange.</param>
    /// <param name="transactionId">The transaction's id (there may be no transaction yet).</param>
    /// <param name="error">The failure, classified.</param>
    public async Task WriteAsync(HttpContext context, string transactionId, ControlError error)
    {
        if (error.Kind == ControlErrorKind.ClientDisconnected)
        {
            LogClientGone(logger, transactionId);
            return;
        }

        if (error.IsUnexpected)
        {
            LogUnexpected(logger, transactionId, error.Exception);
        }
        else if (error.StatusCode >= 500)
        {
            LogFailed(logger, transactionId, error.StatusCode, error.Code, error.LoggedException);
        }
        else
        {
            LogRejected(logger, transactionId, error.StatusCode, error.Code);
        }

        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = ContentTypes.Json;
        context.Response.Headers[ResponseHead.TransactionIdHeader] = transactionId;
        try
        {
            await context.Response.Body.WriteAsync(error.ToJsonUtf8(), context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is gone.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: refused with {Status} {Code}.")]
    private static partial void LogRejected(ILogger logger, string transactionId, int status, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: failed with {Status} {Code}.")]
    private static partial void LogFailed(ILogger logger, string transactionId, int status, string code, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Transaction {TransactionId}: unexpected failure; the client got 500 server_error.")]
    private static partial void LogUnexpected(ILogger logger, string transactionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: the client went away; the backend request was cancelled.")]
    private static partial void LogClientGone(ILogger logger, string transactionId);
}
