using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests;

/// <summary>Collects log events so tests can assert on event ids.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(int EventId, LogLevel Level, string Message)> _events = new();

    public IReadOnlyList<int> EventIds => [.. _events.Select(e => e.EventId)];

    public IReadOnlyList<string> Messages => [.. _events.Select(e => e.Message)];

    public ILogger CreateLogger(string categoryName) => new ListLogger(_events);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ConcurrentQueue<(int, LogLevel, string)> events) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            events.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
    }
}
