using Luthien.Control.Loading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Luthien.Control.Policies;

/// <summary>Options of <see cref="TransactionContextLoggingPolicy"/>.</summary>
public sealed class TransactionContextLoggingOptions : PolicyOptions
{
    /// <summary>
    /// The level: a .NET name (<c>Information</c>, <c>Debug</c>…) or a Python one (<c>INFO</c>, <c>DEBUG</c>,
    /// <c>WARNING</c>, <c>ERROR</c>, <c>CRITICAL</c>). Default <c>Information</c>.
    /// </summary>
    public string? LogLevel { get; set; }
}

/// <summary>
/// Logs the transaction as it stands where the policy sits in the chain: id, method, path, model, streaming flag,
/// message count, headers with credentials redacted, and the response status once there is one. Message text is not
/// logged; credentials never are.
/// </summary>
public sealed partial class TransactionContextLoggingPolicy : ControlPolicy
{
    private readonly ILogger _logger;

    /// <summary>Creates the policy.</summary>
    /// <param name="level">The level to log at.</param>
    /// <param name="logger">The logger.</param>
    public TransactionContextLoggingPolicy(LogLevel level = LogLevel.Information, ILogger<TransactionContextLoggingPolicy>? logger = null)
    {
        Level = level;
        _logger = logger ?? NullLogger<TransactionContextLoggingPolicy>.Instance;
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
    public override ValueTask ApplyAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (!_logger.IsEnabled(Level))
        {
            return ValueTask.CompletedTask;
        }

        var request = transaction.Request;
        var headers = string.Join(", ", request.GetRedactedHeaders().Select(h => $"{h.Key}: {h.Value}"));
        LogTransaction(
            _logger,
            Level,
            transaction.Id,
            request.Method,
            request.Path,
            request.Chat?.Model,
            transaction.IsStreaming,
            request.Chat?.Messages.Count,
            headers,
            transaction.Response.StatusCode);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Message = "Transaction {TransactionId}: {Method} {Path} model={Model} stream={Stream} messages={MessageCount} status={Status} headers=[{Headers}]")]
    private static partial void LogTransaction(
        ILogger logger, LogLevel level, string transactionId, string method, string path, string? model, bool stream, int? messageCount, string headers, int? status);
}
