using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AI.Tests.Infrastructure;

/// <summary>Keeps every log entry written, with its exception, so that a test can assert on what was (or was not) logged.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    /// <summary>The entries: level, category, message and exception text.</summary>
    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Entries { get; } = new();

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Entries.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? string.Empty : " | " + exception)));
    }
}
