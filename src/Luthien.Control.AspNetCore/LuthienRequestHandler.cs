using System.Buffers;
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
                throw TooLarge(limit);
            }

            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            {
                sizeFeature.MaxRequestBodySize = limit;
            }

            var body = new LimitedReadStream(context.Request.Body, limit);
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
        string? errorType = null;
        Transaction? transaction = null;
        try
        {
            var request = await readRequest(options.CurrentValue.Limits.MaxRequestBodyBytes).ConfigureAwait(false);
            transaction = new Transaction(request, transactionId, context.RequestAborted) { StartedAt = startedAt };
            model = request.Chat?.Model;
            if (activity is not null)
            {
                var operation = request.Kind == RequestKind.ChatCompletion ? "chat" : path;
                activity.DisplayName = model is null ? operation : $"{operation} {model}";
                activity.SetTag("gen_ai.operation.name", operation);
                activity.SetTag("gen_ai.request.model", model);
                activity.SetTag("luthien.transaction_id", transactionId);
            }

            await RunAsync(context, transaction, activity).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            errorType = ex is ControlPolicyException cpe ? cpe.Code : ex.GetType().Name;
            await FailAsync(context, transactionId, ex).ConfigureAwait(false);
        }
        finally
        {
            var status = context.Response.StatusCode;
            errorType ??= transaction?.Data.GetOrDefault(SseResponseWriter.StreamErrorKey, null!);
            errorType ??= status >= 400 ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
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

    private async Task RunAsync(HttpContext context, Transaction transaction, Activity? activity)
    {
        var response = transaction.Response;
        try
        {
            await rootPolicy.Root.RunAsync(transaction, transaction.CancellationToken).ConfigureAwait(false);

            if (!response.HasValue)
            {
                throw new ControlPolicyException("The policy chain produced no response (is SendBackendRequest missing?).");
            }

            if (response.Stream is { } stream)
            {
                await sseWriter.WriteAsync(context, transaction, stream, activity).ConfigureAwait(false);
            }
            else if (response.BodyStream is { } bodyStream)
            {
                await WritePassthroughAsync(context, transaction, bodyStream).ConfigureAwait(false);
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

    private async Task WritePassthroughAsync(HttpContext context, Transaction transaction, Stream body)
    {
        WriteHead(context, transaction, transaction.Response.StatusCode!.Value, transaction.Response.ContentType);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        // The same activity timeout as streams: a backend that sends headers and then nothing does not hold the
        // connection for ever.
        var backend = new BackendReadStream(body, timeProvider, options.CurrentValue.Timeouts.Idle, firstEvent: null, maxEventBytes: 0, transaction.CancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await backend.ReadAsync(buffer, transaction.CancellationToken).ConfigureAwait(false);
                }
                catch (BackendException) when (!context.Response.HasStarted)
                {
                    // Nothing sent yet (the head goes out with the first bytes): still a proper HTTP error.
                    throw;
                }
                catch (BackendException ex)
                {
                    LogStreamFailed(logger, transaction.Id, ex.Code, ex);
                    context.Abort();
                    return;
                }

                if (read == 0)
                {
                    return;
                }

                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), transaction.CancellationToken).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(transaction.CancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await backend.DisposeAsync().ConfigureAwait(false);
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

    private async Task FailAsync(HttpContext context, string transactionId, Exception exception)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            LogClientGone(logger, transactionId);
            return;
        }

        var error = exception switch
        {
            ControlPolicyException cpe => cpe,
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(options.CurrentValue.Limits.MaxRequestBodyBytes),
            BadHttpRequestException bad => ControlPolicyException.InvalidRequest($"The request could not be read ({bad.StatusCode})."),
            _ => null,
        };

        if (error is null)
        {
            LogUnexpected(logger, transactionId, exception);
            error = new ControlPolicyException("The request could not be processed.");
        }
        else if (error.StatusCode >= 500)
        {
            LogFailed(logger, transactionId, error.StatusCode, error.Code, error.InnerException ?? error);
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
            await context.Response.Body.WriteAsync(ErrorBody.ToUtf8(error), context.RequestAborted).ConfigureAwait(false);
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

    /// <summary>The 413 <c>request_too_large</c> for a request body over the limit, wherever it is found.</summary>
    internal static ControlPolicyException TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, ErrorCodes.RequestTooLarge, $"The request body is larger than the limit of {limit} bytes.");

    /// <summary>
    /// Reads the request body into a pooled buffer that grows with the bytes that arrive: a declared length over the limit
    /// is refused unread, and never decides how much memory is taken.
    /// </summary>
    private static ValueTask<BodyBuffer> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var body = request.Body;
        return BoundedBodyReader.ReadAsync(
            into => body.ReadAsync(into, cancellationToken),
            request.ContentLength,
            limit,
            () => TooLarge(limit),
            () => ControlPolicyException.InvalidRequest("The request body ended before its declared length."));
    }

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
