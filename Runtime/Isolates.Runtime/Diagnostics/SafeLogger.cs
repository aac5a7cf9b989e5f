using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isolates.Diagnostics;

/// <summary>
/// The one logging rule of the runtime and the hosting package: logging is best effort, and nothing the logging stack
/// throws changes what is being logged about. Every logger they use is made here, so the rule holds at every call
/// site (present and future) instead of each path remembering its own try/catch: a logger that throws cannot stop an
/// isolate closing, a pool replacing a slot, or a supervisor restarting a worker.
/// </summary>
/// <remarks>
/// Guards creation too: <see cref="ILoggerFactory.CreateLogger"/> throws <see cref="ObjectDisposedException"/> once the
/// application's container has disposed its factory, which is when a pool may still be replacing an isolate or a
/// host stopping.
/// </remarks>
internal sealed class SafeLogger : ILogger
{
    private readonly ILogger _inner;

    private SafeLogger(ILogger inner) => _inner = inner;

    /// <summary>A logger of <paramref name="category"/> from <paramref name="factory"/> that never throws; the null logger when there is no factory or it cannot make one.</summary>
    public static ILogger Create(ILoggerFactory? factory, string category)
    {
        if (factory is null)
        {
            return NullLogger.Instance;
        }

        try
        {
            return new SafeLogger(factory.CreateLogger(category));
        }
        catch (Exception)
        {
            return NullLogger.Instance; // no logs is the cost; the isolate, pool or host still works
        }
    }

    public bool IsEnabled(LogLevel logLevel)
    {
        try
        {
            return _inner.IsEnabled(logLevel);
        }
        catch (Exception)
        {
            return false;
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            _inner.Log(logLevel, eventId, state, exception, formatter);
        }
        catch (Exception)
        {
            // Nothing else to tell, and no one to tell it to: the logger itself is what failed.
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        try
        {
            return _inner.BeginScope(state) is { } scope ? new SafeScope(scope) : null;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>A scope whose end cannot throw either (it usually ends in a <c>using</c>'s finally).</summary>
    private sealed class SafeScope(IDisposable inner) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                inner.Dispose();
            }
            catch (Exception)
            {
                // as in Log
            }
        }
    }
}
