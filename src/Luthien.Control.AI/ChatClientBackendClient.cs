using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AI;

/// <summary>
/// The endpoints' backend when it is an <see cref="IChatClient"/> (<c>UseChatClientBackend</c>): a chat-completions
/// request becomes the client's messages and options, its answer a <c>chat.completion</c> or a stream of
/// <c>chat.completion.chunk</c>s, under the raw backend's timeouts and error rules.
/// </summary>
/// <remarks>
/// Only chat completions are served. The Responses API and legacy completions are refused (404 <c>not_found</c>) rather
/// than translated: a Responses answer has stored state, output items, built-in tools and an event protocol of its own,
/// and a legacy completion continues a raw prompt (<c>suffix</c>, <c>echo</c>, <c>best_of</c>); an
/// <see cref="IChatClient"/> carries none of that, so a translation would invent what the client then trusts. Pass-through
/// routes (models, embeddings, moderations) have no <see cref="IChatClient"/> equivalent and are refused the same way.
/// </remarks>
/// <param name="inner">The chat client that answers.</param>
/// <param name="ownsInner">Whether the backend disposes <paramref name="inner"/> (it made it from the host's factory).</param>
/// <param name="options">The timeouts and the usage drain.</param>
/// <param name="timeProvider">The clock for timeouts.</param>
/// <param name="logger">The logger.</param>
internal sealed partial class ChatClientBackendClient(
    IChatClient inner, bool ownsInner, IOptionsMonitor<LuthienOptions> options, TimeProvider timeProvider, ILogger logger) : IBackendClient, IDisposable
{
    /// <summary>What the refusals name: the registration that turned this backend on.</summary>
    internal const string Setting = "UseChatClientBackend";

    /// <inheritdoc />
    public async ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var request = transaction.Request;
        if (request.Kind != RequestKind.ChatCompletion || request.Payload is not { } payload)
        {
            throw InvalidRequestException.NotFound(Refusal(request.Kind));
        }

        var (messages, chatOptions) = ChatRequestJson.ToCall(payload, request.Model);
        var current = options.CurrentValue;
        var transactionId = transaction.Id;
        if (request.IsStreaming)
        {
            var rules = new BackendStreamRules(
                current.Timeouts.FirstChunk, current.Timeouts.Idle, current.Streaming.UsageDrain, request.IncludeUsage, timeProvider,
                (ex, timedOut) => LogFailure(transactionId, ex, timedOut));
            transaction.Response.SetStream(200, new ChatClientStreamingIterator(inner, messages, chatOptions, rules));
            return;
        }

        // A buffered answer comes whole, as the raw backend's headers do: the first-chunk timeout bounds it.
        var timer = BackendTimer.Started(timeProvider, current.Timeouts.FirstChunk, cancellationToken);
        await using var _ = timer.ConfigureAwait(false);
        ChatResponse answer;
        try
        {
            answer = await WithinAsync(inner.GetResponseAsync(messages, chatOptions, timer.Token), timer).ConfigureAwait(false);
            ThrowIfCutShort(timer);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw Failure(ex, timer, (e, timedOut) => LogFailure(transactionId, e, timedOut), started: false);
        }

        transaction.Response.SetJson(200, ChatResponseJson.ToCompletion(answer, timeProvider, chatOptions?.ModelId));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsInner)
        {
            inner.Dispose();
        }
    }

    /// <summary>
    /// What the client is told for a failure of the chat client: a timeout (the library's deadline, or the chat client's own)
    /// is 504 <c>backend_timeout</c>; anything else 502 <c>backend_unavailable</c> ("broke off" once the answer began).
    /// A <see cref="ControlException"/> (an inner Luthien pipeline's decision) is already one and passes as it is.
    /// </summary>
    /// <param name="exception">What the chat client threw.</param>
    /// <param name="timer">The clock the call ran under.</param>
    /// <param name="log">Logs the failure.</param>
    /// <param name="started">Whether the answer had begun (a stream's first update was read).</param>
    internal static Exception Failure(Exception exception, BackendTimer timer, Action<Exception, bool> log, bool started)
    {
        if (exception is ControlException)
        {
            return exception;
        }

        var timedOut = timer.TimedOut || exception is TimeoutException || exception.InnerException is TimeoutException;
        log(exception, timedOut);
        return timedOut ? BackendException.Timeout(started ? "the next chunk" : "a response")
            : started ? BackendException.BrokeOff(exception)
            : BackendException.Unavailable(exception);
    }

    /// <summary>
    /// Waits for a chat client's call no longer than its token allows. A chat client that ignores its token is left
    /// behind — its call ends, or not, on its own, and what it throws then is observed — rather than holding the request
    /// past its deadline or after its client went away. A call already done costs nothing more.
    /// </summary>
    /// <param name="call">The chat client's call.</param>
    /// <param name="timer">The clock the call runs under.</param>
    internal static async ValueTask<T> WithinAsync<T>(Task<T> call, BackendTimer timer)
    {
        if (call.IsCompleted)
        {
            return await call.ConfigureAwait(false);
        }

        try
        {
            return await call.WaitAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!call.IsCompleted)
        {
            _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>
    /// A chat client may end its call normally when its token fires, with what it had so far: that is no answer. The
    /// client's cancellation passes on as one; the deadline is a timeout, as if the chat client had thrown it.
    /// </summary>
    /// <param name="timer">The clock the call ran under.</param>
    internal static void ThrowIfCutShort(BackendTimer timer)
    {
        if (timer.Token.IsCancellationRequested)
        {
            timer.ClientToken.ThrowIfCancellationRequested();
            throw new TimeoutException("The chat client ended its call when the deadline passed.");
        }
    }

    private static string Refusal(RequestKind kind) => kind switch
    {
        RequestKind.Responses => $"The Responses API is not served here: the backend is an IChatClient ({Setting}), which answers chat completions only. Use /chat/completions.",
        RequestKind.Completion => $"Legacy completions are not served here: the backend is an IChatClient ({Setting}), which answers chat completions only. Use /chat/completions.",
        _ => $"This path is not served here: the backend is an IChatClient ({Setting}), which has no equivalent of it; only /chat/completions is served.",
    };

    private void LogFailure(string transactionId, Exception exception, bool timedOut)
    {
        if (timedOut)
        {
            LogTimeout(logger, transactionId, exception.GetType().Name);
        }
        else
        {
            LogUnavailable(logger, transactionId, exception.GetType().Name, SecretRedactor.RedactText(exception.Message));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: the IChatClient backend timed out ({ExceptionType}).")]
    private static partial void LogTimeout(ILogger logger, string transactionId, string exceptionType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: the IChatClient backend failed: {ExceptionType}: {Detail}")]
    private static partial void LogUnavailable(ILogger logger, string transactionId, string exceptionType, string detail);
}
