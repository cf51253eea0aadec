using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Runs one HTTP exchange: reads the request into a <see cref="Transaction"/>, runs the host pipeline (telemetry and
/// usage steps around the root policy), hands the answer to its writer (JSON, pass-through or server-sent events), and
/// turns any failure into the contract's error, classified and recorded once.
/// </summary>
internal sealed partial class LuthienRequestHandler(
    RequestReader reader,
    HostPipeline pipeline,
    TelemetryStep telemetry,
    PassthroughResponseWriter passthroughWriter,
    SseResponseWriter sseWriter,
    ErrorResponseWriter errorWriter,
    TransactionLogWriter auditLog,
    IOptionsMonitor<LuthienOptions> options,
    ILogger<LuthienRequestHandler> logger)
{
    /// <summary>A policed API's route, OpenAI's or Azure's: the request gets the API's own path whichever route it came by.</summary>
    /// <param name="context">The exchange.</param>
    /// <param name="kind">The API.</param>
    /// <param name="deployment">The deployment an Azure route names, if any.</param>
    public Task HandlePolicedAsync(HttpContext context, RequestKind kind, string? deployment = null) =>
        HandleAsync(context, RequestPayloads.DefaultPath(kind), kind, deployment, null);

    /// <summary>Any other path below the prefix: forwarded unparsed if the allow list says so.</summary>
    public Task HandlePassthroughAsync(HttpContext context, string path) => HandleAsync(context, path, RequestKind.Passthrough, null, null);

    /// <summary>A route that serves nothing (other Azure paths): refused with <paramref name="refusal"/>, after the literal-path check.</summary>
    public Task HandleNotServedAsync(HttpContext context, InvalidRequestException refusal) =>
        HandleAsync(context, RequestReader.RefusedPath, RequestKind.Passthrough, null, refusal);

    private async Task HandleAsync(HttpContext context, string path, RequestKind kind, string? deployment, InvalidRequestException? notServed)
    {
        var transactionId = ResponseHead.StartTransaction(context);

        // The path is checked before anything else: nothing is read, no policy runs, nothing is forwarded.
        var refusal = reader.Check(context, path, kind, notServed);
        var label = refusal is null ? path : RequestReader.RefusedPath;
        using var exchange = telemetry.Begin(label);
        var audit = auditLog.IsOn ? new AuditCapture(DateTime.UtcNow, options.CurrentValue.TransactionLog.MaxBodyBytes) : null;

        // What went wrong, if anything: classified once, here or by the writer that saw it, and recorded once.
        ControlErrorKind? failure = null;
        Transaction? transaction = null;
        try
        {
            transaction = refusal is null ? await reader.ReadAsync(context, path, kind, transactionId, deployment).ConfigureAwait(false) : throw refusal;
            exchange.Attach(transaction);
            audit?.Read(transaction);
            failure = await RunAsync(context, transaction, audit).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var error = ErrorMapping.Map(ex, context.RequestAborted.IsCancellationRequested, options.CurrentValue.Limits.MaxRequestBodyBytes);
            failure = error.Kind;
            audit?.Failed(error.Message, error.Type, error.Code);
            await errorWriter.WriteAsync(context, transactionId, error).ConfigureAwait(false);
        }
        finally
        {
            exchange.Complete(context.Response.StatusCode, failure);
            LogCompleted(logger, transactionId, context.Request.Method, label, context.Response.StatusCode, exchange.Elapsed.TotalMilliseconds);
            if (audit is not null)
            {
                // After the response has ended: the client never waits for the log (only for room in a full queue).
                await auditLog.EnqueueAsync(audit.ToRecord(context.Response.StatusCode, context.Request.Method, context.Request.ContentLength, transactionId, label, kind, transaction, failure, exchange.Elapsed)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs the pipeline and writes its answer.</summary>
    /// <returns>The failure that ended the answer after it began (already told to the client as it could be), if any.</returns>
    private async Task<ControlErrorKind?> RunAsync(HttpContext context, Transaction transaction, AuditCapture? audit)
    {
        var response = transaction.Response;
        try
        {
            await pipeline.RunAsync(transaction, transaction.CancellationToken).ConfigureAwait(false);
            if (!response.HasValue)
            {
                throw ControlFailureException.NoResponse();
            }

            if (response.Stream is { } stream)
            {
                return await sseWriter.WriteAsync(context, transaction, stream, audit?.BeginStream()).ConfigureAwait(false);
            }

            if (response.BodyStream is { } body)
            {
                return await passthroughWriter.WriteAsync(context, transaction, body).ConfigureAwait(false);
            }

            await JsonResponseWriter.WriteAsync(context, transaction).ConfigureAwait(false);
            audit?.Answered(response.Body.Span);
            return null;
        }
        finally
        {
            // Whatever the answer holds (the backend's response, its stream), written or not.
            if (response.Stream is { } stream)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            if (response.BodyStream is { } body)
            {
                await body.DisposeAsync().ConfigureAwait(false);
            }

            response.Owner?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: {Method} {Path} → {Status} in {ElapsedMs:F1} ms.")]
    private static partial void LogCompleted(ILogger logger, string transactionId, string method, string path, int status, double elapsedMs);
}
