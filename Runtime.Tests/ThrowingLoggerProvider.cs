using Microsoft.Extensions.Logging;

namespace Isolates.Tests;

/// <summary>
/// A logging provider whose loggers throw on every call (a full disk, a broken sink), for the one logging rule's tests.
/// Only the categories that start with <paramref name="categoryPrefix"/> throw (the generic host's own loggers do not
/// guard their calls); the others log nothing.
/// </summary>
internal sealed class ThrowingLoggerProvider(string categoryPrefix = "") : ILoggerProvider
{
    private int _calls;

    /// <summary>How many times a logger of this provider was called (and threw).</summary>
    public int Calls => Volatile.Read(ref _calls);

    public ILogger CreateLogger(string categoryName) =>
        categoryName.StartsWith(categoryPrefix, StringComparison.Ordinal) ? new ThrowingLogger(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose()
    {
    }

    private sealed class ThrowingLogger(ThrowingLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => throw Failure();

        public bool IsEnabled(LogLevel logLevel) => throw Failure();

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw Failure();

        private IOException Failure()
        {
            Interlocked.Increment(ref provider._calls);
            return new IOException("the log disk is full");
        }
    }
}
