using Isolates.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isolates.Tests.Diagnostics;

/// <summary>The one logging rule: a logger from <see cref="SafeLogger"/> never throws, whatever the logging stack does.</summary>
public class SafeLoggerTests
{
    [Test]
    public void Log_ProviderThrowsOnEveryCall_NothingEscapes()
    {
        var throwing = new ThrowingLoggerProvider();
        var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(throwing).AddProvider(logs));
        ILogger logger = SafeLogger.Create(factory, "test");

        Assert.Multiple(() =>
        {
            Assert.DoesNotThrow(() => logger.LogWarning(new InvalidOperationException("x"), "warned {N}", 1));
            Assert.DoesNotThrow(() => logger.BeginScope("scope")?.Dispose());
            Assert.DoesNotThrow(() => logger.IsEnabled(LogLevel.Error));
        });
        Assert.That(throwing.Calls, Is.GreaterThan(0), "the throwing logger was called");
        Assert.That(logs.Messages, Does.Contain("warned 1"), "the other providers still get the event");
    }

    [Test]
    public void Create_FactoryDisposed_GivesALoggerThatDoesNothingInsteadOfThrowing()
    {
        var factory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider()));
        factory.Dispose();
        Assert.That(() => factory.CreateLogger("test"), Throws.TypeOf<ObjectDisposedException>(), "what the guard is for");

        ILogger logger = SafeLogger.Create(factory, "test");

        Assert.That(logger, Is.SameAs(NullLogger.Instance));
    }

    [Test]
    public void Create_NoFactory_IsTheNullLogger() =>
        Assert.That(SafeLogger.Create(null, "test"), Is.SameAs(NullLogger.Instance));
}
