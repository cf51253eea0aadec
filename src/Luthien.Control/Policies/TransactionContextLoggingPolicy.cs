using Microsoft.Extensions.Logging;

namespace Luthien.Control.Streaming;

/// <summary>Options of <see cref="TransactionContextLoggingPolicy"/>.</summary>
internal sealed class TransactionContextLoggingOptions : PolicyOptions
{
    /// <summary>
    /// The level: a .NET name (<c>Information</c>, <c>Debug</c>…) or a Python one (<c>INFO</c>, <c>DEBUG</c>,
    /// <c>WARNING</c>, <c>ERROR</c>, <c>CRITICAL</c>). Default <c>Information</c>.
    /// </summary>
    public string? LogLevel { get; set; }
}

/// <summary>
/// Logs the transaction: where the policy stands in the chain, the request (id, method, path, model, streaming flag,
/// message count, headers with credentials redacted); then, once the answer has gone out, the response (status, text
/// length, finish reasons, tokens, and for streams the chunk count and time to first chunk). Streams are observed as
/// they pass, never buffered. Message text and credentials are never logged.
/// </summary>
public sealed partial class TransactionContextLoggingPolicy : StreamingControlPolicy
{
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;

    /// <summary>
    /// Creates the policy. The logger is required: a logging policy without one would log nothing, silently. In a chain
    /// built with <c>UsePolicies</c>, <c>Add&lt;TransactionContextLoggingPolicy&gt;()</c> gives it the application's.
    /// </summary>
    /// <param name="logger">The logger, e.g. from the application's services.</param>
    /// <param name="level">The level to log at.</param>
    /// <param name="timeProvider">The clock for the time to first chunk.</param>
    public TransactionContextLoggingPolicy(ILogger<TransactionContextLoggingPolicy> logger, LogLevel level = LogLevel.Information, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        Level = level;
        _logger = logger;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The level logged at.</summary>
    public LogLevel Level { get; }

    /// <summary>Reads a level name as luthien_control or .NET writes it.</summary>
    /// <param name="name">The name; <see langword="null"/> gives <see cref="LogLevel.Information"/>.</param>
    /// <exception cref="ArgumentException">The name is not a level.</exception>
    public static LogLevel ParseLevel(string? name) => name?.Trim().ToUpperInvariant() switch
    {
        null or "" or "INFO" or "INFORMATION" => LogLevel.Information,
        "TRACE" => LogLevel.Trace,
        "DEBUG" => LogLevel.Debug,
        "WARN" or "WARNING" => LogLevel.Warning,
        "ERROR" => LogLevel.Error,
        "CRITICAL" or "FATAL" => LogLevel.Critical,
        _ => throw new ArgumentException(
            $"log_level '{name}' is not a level (use Trace, Debug, Information, Warning, Error or Critical).", nameof(name)),
    };

    /// <inheritdoc />
    protected override ValueTask ApplyRequestAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (_logger.IsEnabled(Level))
        {
            var request = transaction.Request;
            var headers = string.Join(", ", request.GetRedactedHeaders().Select(h => $"{h.Key}: {h.Value}"));
            LogRequest(_logger, Level, transaction.Id, request.Method, request.Path, request.Model, transaction.IsStreaming, request.InputCount, headers);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override ValueTask ApplyStreamingAsync(Transaction transaction, CancellationToken cancellationToken) =>
        _logger.IsEnabled(Level) ? base.ApplyStreamingAsync(transaction, cancellationToken) : ValueTask.CompletedTask;

    /// <inheritdoc />
    protected override ValueTask ApplyNonStreamingAsync(Transaction transaction, CancellationToken cancellationToken) =>
        _logger.IsEnabled(Level) ? base.ApplyNonStreamingAsync(transaction, cancellationToken) : ValueTask.CompletedTask;

    /// <inheritdoc />
    protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        if (context.State is not Summary summary)
        {
            // From the start of the transaction (the client's request) to the first chunk seen here.
            summary = new Summary { FirstChunkMs = (_timeProvider.GetUtcNow() - context.Transaction.StartedAt).TotalMilliseconds };
            context.State = summary;
        }

        try
        {
            summary.Add(chunk.Output);
        }
        catch (BackendException)
        {
            // Logging only observes: a chunk it cannot read is counted and passed on as it is. A policy that must read
            // it refuses it itself; a chain that only logs forwards it, as a pass-through chain does.
            summary.CountUnreadable();
        }

        context.Emit(chunk);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override ValueTask CompleteStreamAsync(StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var summary = context.State as Summary ?? new Summary();
        if (context.IsBuffered)
        {
            LogResponse(_logger, Level, context.Transaction.Id, context.Transaction.Response.StatusCode, summary.TextLength, summary.FinishReasonsText, summary.InputTokens, summary.OutputTokens);
        }
        else
        {
            LogStream(_logger, Level, context.Transaction.Id, "completed", summary.Chunks, summary.FirstChunkMs, summary.TextLength, summary.FinishReasonsText, summary.InputTokens, summary.OutputTokens);
        }

        return base.CompleteStreamAsync(context, cancellationToken);
    }

    /// <inheritdoc />
    protected override void OnStreamEndedEarly(StreamingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var summary = context.State as Summary ?? new Summary();
        LogStream(_logger, Level, context.Transaction.Id, "ended early", summary.Chunks, summary.FirstChunkMs, summary.TextLength, summary.FinishReasonsText, summary.InputTokens, summary.OutputTokens);
    }

    /// <summary>What passed, counted from the neutral output events: whatever the API, no text kept.</summary>
    private sealed class Summary
    {
        private readonly SortedSet<string> _finishReasons = new(StringComparer.Ordinal);

        public int Chunks { get; private set; }

        public double? FirstChunkMs { get; init; }

        public int TextLength { get; private set; }

        public long? InputTokens { get; private set; }

        public long? OutputTokens { get; private set; }

        public string FinishReasonsText => string.Join(",", _finishReasons);

        public void CountUnreadable() => Chunks++;

        public void Add(IReadOnlyList<OutputEvent> output)
        {
            Chunks++;
            foreach (var item in output)
            {
                switch (item.Kind)
                {
                    case OutputKind.Text or OutputKind.Refusal:
                        TextLength += item.Text.Length;
                        break;
                    case OutputKind.Finish:
                        _finishReasons.Add(item.FinishReason!);
                        break;
                    case OutputKind.Usage:
                        InputTokens = item.InputTokens ?? InputTokens;
                        OutputTokens = item.OutputTokens ?? OutputTokens;
                        break;
                }
            }
        }
    }

    [LoggerMessage(Message = "Transaction {TransactionId}: {Method} {Path} model={Model} stream={Stream} messages={MessageCount} headers=[{Headers}]")]
    private static partial void LogRequest(ILogger logger, LogLevel level, string transactionId, string method, string path, string? model, bool stream, int? messageCount, string headers);

    [LoggerMessage(Message = "Transaction {TransactionId}: response status={Status} text_length={TextLength} finish_reasons=[{FinishReasons}] prompt_tokens={PromptTokens} completion_tokens={CompletionTokens}")]
    private static partial void LogResponse(ILogger logger, LogLevel level, string transactionId, int? status, int textLength, string finishReasons, long? promptTokens, long? completionTokens);

    [LoggerMessage(Message = "Transaction {TransactionId}: stream {Outcome} chunks={Chunks} first_chunk_ms={FirstChunkMs:F1} text_length={TextLength} finish_reasons=[{FinishReasons}] prompt_tokens={PromptTokens} completion_tokens={CompletionTokens}")]
    private static partial void LogStream(ILogger logger, LogLevel level, string transactionId, string outcome, int chunks, double? firstChunkMs, int textLength, string finishReasons, long? promptTokens, long? completionTokens);
}
