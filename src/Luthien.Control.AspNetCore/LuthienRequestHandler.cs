using System.Diagnostics;
using Luthien.Control.Backends;
using Luthien.Control.Transport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Turns an HTTP exchange into a <see cref="Transaction"/>, runs the root policy, and writes the response: a JSON body,
/// a streamed pass-through body, or server-sent events flushed one by one. Every failure becomes an OpenAI-style error.
/// </summary>
internal sealed partial class LuthienRequestHandler(RootPolicyProvider rootPolicy, SseResponseWriter sseWriter, IOptionsMonitor<LuthienOptions> options, TimeProvider timeProvider, LuthienMetrics metrics, ILogger<LuthienRequestHandler> logger)
{
    internal const string TransactionIdHeader = "x-luthien-transaction-id";

    public Task HandleChatAsync(HttpContext context, string path)
    {
        // The path is checked before anything else: nothing is read, no policy runs, nothing is forwarded.
        if (LiteralPath.Check(context) is { } refusal)
        {
            return HandleAsync(context, RefusedPath, _ => Task.FromException<TransactionRequest>(refusal));
        }

        var credentials = Rules().Credentials;
        return HandleAsync(context, path, async limit =>
        {
            using var body = await ReadBodyAsync(context.Request, limit, context.RequestAborted).ConfigureAwait(false);
            var chat = ChatCompletionRequest.Parse(body.Span);
            var request = TransactionRequest.ForChat(chat, CopyHeaders(context.Request.Headers), path);
            request.Credentials = credentials;
            return request;
        });
    }

    public Task HandlePassthroughAsync(HttpContext context, string path)
    {
        var rules = Rules();
        if ((LiteralPath.Check(context) ?? rules.Passthrough.Check(context.Request.Method, path)) is { } refusal)
        {
            // A fixed label, not the path: logs and metrics must not take whatever a client puts in a refused path.
            return HandleAsync(context, RefusedPath, _ => Task.FromException<TransactionRequest>(refusal));
        }

        return HandleAsync(context, path, limit =>
        {
            if (context.Request.ContentLength > limit)
            {
                throw InvalidRequestException.TooLarge(limit);
            }

            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            {
                sizeFeature.MaxRequestBodySize = limit;
            }

            var body = new BoundedReadStream(context.Request.Body, limit, TooLarge);
            var request = TransactionRequest.ForPassthrough(
                context.Request.Method, path, context.Request.QueryString.Value, CopyHeaders(context.Request.Headers), body);
            request.Credentials = rules.Credentials;
            return Task.FromResult(request);
        });
    }

    private const string RefusedPath = "(refused path)";

    private RequestRules? _rules;

    /// <summary>The rules for the current options: built on first use and again only when the options change (reload).</summary>
    private RequestRules Rules()
    {
        var current = options.CurrentValue;
        var rules = _rules;
        if (rules is null || !ReferenceEquals(rules.Options, current))
        {
            // Two requests may race to build them; both get equal rules and either may stay cached.
            _rules = rules = new RequestRules(current);
        }

        return rules;
    }

    /// <summary>Creates the transaction, runs it, and turns any failure into the contract's error response.</summary>
    private async Task HandleAsync(HttpContext context, string path, Func<long, Task<TransactionRequest>> readRequest)
    {
        var startedAt = timeProvider.GetUtcNow();
        var transactionId = NewTransactionId(context);
        var started = Stopwatch.GetTimestamp();
        using var activity = LuthienTelemetry.Source.StartActivity(ActivityKind.Internal);
        string? model = null;

        // What went wrong, if anything: classified once, here, and recorded once (span, metrics, log).
        ControlErrorKind? outcome = null;
        try
        {
            var request = await readRequest(options.CurrentValue.Limits.MaxRequestBodyBytes).ConfigureAwait(false);
            var transaction = new Transaction(request, transactionId, context.RequestAborted) { StartedAt = startedAt };
            model = request.Chat?.Model;
            if (activity is not null)
            {
                var operation = request.Kind == RequestKind.ChatCompletion ? "chat" : path;
                activity.DisplayName = model is null ? operation : $"{operation} {model}";
                activity.SetTag("gen_ai.operation.name", operation);
                activity.SetTag("gen_ai.request.model", model);
                activity.SetTag("luthien.transaction_id", transactionId);
            }

            outcome = await RunAsync(context, transaction, activity).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var error = ErrorMapping.Map(ex, context.RequestAborted.IsCancellationRequested, options.CurrentValue.Limits.MaxRequestBodyBytes);
            outcome = error.Kind;
            await FailAsync(context, transactionId, error).ConfigureAwait(false);
        }
        finally
        {
            var status = context.Response.StatusCode;

            // No failure of ours, yet an error status: the backend's own error (or a policy's answer standing in for it).
            outcome ??= status >= 400 ? ControlErrorKind.BackendError : null;
            var errorType = outcome is { } kind ? ErrorMapping.Tag(kind) : null;
            if (errorType is not null)
            {
                activity?.SetTag("error.type", errorType);
                activity?.SetStatus(ActivityStatusCode.Error);
            }

            if (metrics.Duration.Enabled)
            {
                metrics.Duration.Record(
                    Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new("gen_ai.operation.name", model is null ? path : "chat"),
                    new("gen_ai.request.model", model),
                    new("http.response.status_code", status),
                    new("error.type", errorType));
            }

            LogDone(context, transactionId, path, started);
        }
    }

    /// <summary>Runs the policies and writes their answer.</summary>
    /// <returns>The failure that ended the answer after it began (already told to the client as it could be), if any.</returns>
    private async Task<ControlErrorKind?> RunAsync(HttpContext context, Transaction transaction, Activity? activity)
    {
        var response = transaction.Response;
        try
        {
            await rootPolicy.Root.RunAsync(transaction, transaction.CancellationToken).ConfigureAwait(false);

            if (!response.HasValue)
            {
                throw ControlFailureException.Internal("The policy chain produced no response (is SendBackendRequest missing?).");
            }

            if (response.Stream is { } stream)
            {
                return await sseWriter.WriteAsync(context, transaction, stream, activity).ConfigureAwait(false);
            }
            else if (response.BodyStream is { } bodyStream)
            {
                return await WritePassthroughAsync(context, transaction, bodyStream).ConfigureAwait(false);
            }
            else
            {
                WriteHead(context, transaction, response.StatusCode!.Value, response.ContentType);
                if (metrics.RecordsUsage(activity) && response.StatusCode is >= 200 and < 300)
                {
                    metrics.RecordUsage(response.Payload as System.Text.Json.Nodes.JsonObject, transaction, activity);
                }

                var body = response.Body;
                context.Response.ContentLength = body.Length;
                await context.Response.Body.WriteAsync(body, transaction.CancellationToken).ConfigureAwait(false);
                return null;
            }
        }
        finally
        {
            if (response.Stream is { } stream)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            if (response.BodyStream is { } bodyStream)
            {
                await bodyStream.DisposeAsync().ConfigureAwait(false);
            }

            response.Owner?.Dispose();
        }
    }

    /// <summary>Copies a pass-through answer as it arrives.</summary>
    /// <returns>The backend failure that cut the answer after it began, if any.</returns>
    private async Task<ControlErrorKind?> WritePassthroughAsync(HttpContext context, Transaction transaction, Stream body)
    {
        WriteHead(context, transaction, transaction.Response.StatusCode!.Value, transaction.Response.ContentType);
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
            // The status is sent and a pass-through body has no error event: cut it, so no client takes it for whole.
            var error = ErrorMapping.MapMidStream(ex, clientGone: false);
            LogStreamFailed(logger, transaction.Id, error.Code, error.LoggedException);
            context.Abort();
            return error.Kind;
        }
    }

    /// <summary>The response head: status, the backend's headers that may pass, content type, transaction id.</summary>
    internal static void WriteHead(HttpContext context, Transaction transaction, int status, string? contentType)
    {
        var response = context.Response;
        response.StatusCode = status;
        foreach (var (name, values) in transaction.Response.Headers)
        {
            if (!ProxyHeaders.IsHopByHop(name) || (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && transaction.Response.BodyStream is not null))
            {
                response.Headers[name] = values;
            }
        }

        if (contentType is not null)
        {
            response.ContentType = contentType;
        }

        response.Headers[TransactionIdHeader] = transaction.Id;
    }

    /// <summary>Logs a failure and, while the response has not started, answers with its JSON error.</summary>
    private async Task FailAsync(HttpContext context, string transactionId, ControlError error)
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
        context.Response.ContentType = "application/json";
        context.Response.Headers[TransactionIdHeader] = transactionId;
        try
        {
            await context.Response.Body.WriteAsync(error.ToJsonUtf8(), context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is gone.
        }
    }

    private void LogDone(HttpContext context, string transactionId, string path, long started)
    {
        var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LogCompleted(logger, transactionId, context.Request.Method, path, context.Response.StatusCode, elapsedMs);
    }

    /// <summary>
    /// Reads the request body into a pooled buffer that grows with the bytes that arrive: a declared length over the limit
    /// is refused unread, and never decides how much memory is taken.
    /// </summary>
    private static ValueTask<BodyBuffer> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken) =>
        BoundedBodyReader.ReadAsync(request.Body, request.ContentLength, limit, TooLarge, EndedEarly, cancellationToken);

    private static readonly Func<long, Exception> TooLarge = static limit => InvalidRequestException.TooLarge(limit);

    private static readonly Func<Exception> EndedEarly = static () => new InvalidRequestException("The request body ended before its declared length.");

    private static HttpHeaderDictionary CopyHeaders(IHeaderDictionary headers)
    {
        var copy = new HttpHeaderDictionary();
        foreach (var (name, values) in headers)
        {
            copy[name] = values;
        }

        return copy;
    }

    private static string NewTransactionId(HttpContext context)
    {
        var id = Transaction.NewId();
        context.Response.Headers[TransactionIdHeader] = id;
        return id;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: {Method} {Path} → {Status} in {ElapsedMs:F1} ms.")]
    private static partial void LogCompleted(ILogger logger, string transactionId, string method, string path, int status, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: refused with {Status} {Code}.")]
    private static partial void LogRejected(ILogger logger, string transactionId, int status, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: failed with {Status} {Code}.")]
    private static partial void LogFailed(ILogger logger, string transactionId, int status, string code, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Transaction {TransactionId}: unexpected failure; the client got 500 server_error.")]
    private static partial void LogUnexpected(ILogger logger, string transactionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: the client went away; the backend request was cancelled.")]
    private static partial void LogClientGone(ILogger logger, string transactionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: stream failed after output began ({Code}); the client got an error event, no [DONE].")]
    private static partial void LogStreamFailed(ILogger logger, string transactionId, string code, Exception exception);
}
