using Microsoft.Extensions.Logging;
using Isolates.Tests.Support;

namespace Isolates.Tests.Errors;

[TestFixture]
[CancelAfter(30_000)]
public class RemoteErrorTests
{
    [Test]
    public async Task CallAsync_FunctionThrows_FailsWithRemoteTypeMessageStackAndInnerChain()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "thrower" });

        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => iso.CallAsync(Failing.Throw, "boom"));

        Assert.Multiple(() =>
        {
            Assert.That(error!.RemoteType, Is.EqualTo("System.InvalidOperationException"));
            Assert.That(error.Message, Is.EqualTo("boom"));
            Assert.That(error.IsolateId, Is.EqualTo(iso.Id));
            Assert.That(error.IsolateName, Is.EqualTo("thrower"));
            Assert.That(error.RemoteStackTrace, Does.Contain("Failing.Throw"));
            Assert.That(error.RemoteStackTrace, Does.Contain("Functions.cs:line"), "file and line come from the isolate's symbols");
            Assert.That(error.RemoteStackTrace, Does.Not.Contain("Isolates.Calls."), "the runtime's own frames are trimmed");
            Assert.That(error.RemoteInnerException?.RemoteType, Is.EqualTo("System.ArgumentException"));
            Assert.That(error.RemoteInnerException?.Message, Is.EqualTo("inner cause"));
            Assert.That(error.Is<InvalidOperationException>(), Is.True);
            Assert.That(error.ToString(), Does.Contain("InvalidOperationException").And.Contain("thrower"));
        });
    }

    [Test]
    public async Task CallAsync_AfterFunctionThrew_IsolateStaysUsable()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        await iso.CallAsync(Counter.Bump);

        Assert.ThrowsAsync<IsolateExecutionException>(() => iso.CallAsync(Failing.Throw, "once"));

        Assert.That(await iso.CallAsync(Counter.Bump), Is.EqualTo(2), "statics survive the failed call");
        Assert.That(iso.State, Is.EqualTo(IsolateState.Running));
    }

    [Test]
    public async Task CallAsync_AsyncFunctionThrowsAfterAwait_FailsWithRemoteDetails()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => iso.CallAsync(Failing.ThrowLaterAsync, "later"));

        Assert.That(error!.RemoteType, Is.EqualTo(typeof(FormatException).FullName));
        Assert.That(error.RemoteStackTrace, Does.Contain("ThrowLaterAsync"));
    }

    [Test]
    public async Task AsyncVoidThrows_IsolateFaultsAndHostSurvives()
    {
        var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { LoggerFactory = factory });

        await iso.CallAsync(Failing.StartAsyncVoidThatThrows);
        var fault = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(iso.Completion));

        Assert.Multiple(() =>
        {
            Assert.That(fault!.RemoteType, Is.EqualTo(typeof(NotSupportedException).FullName));
            Assert.That(fault.Message, Is.EqualTo("escaped from async void"));
            Assert.That(iso.State, Is.EqualTo(IsolateState.Faulted));
            Assert.That(Isolate.All, Does.Not.Contain(iso));
        });
        var closed = Assert.ThrowsAsync<IsolateClosedException>(() => iso.CallAsync(Counter.Bump));
        Assert.That(closed!.InnerException, Is.SameAs(fault), "later callers learn why the isolate stopped");
        Assert.DoesNotThrowAsync(() => iso.CloseAsync(), "closing a faulted isolate is harmless");
        Assert.That(logs.EventIds, Does.Contain(3), "IsolateFaulted is logged with its stable event id");
    }

    [Test]
    public async Task UnobservedTaskException_IsAttributedToItsIsolateAndFaultsIt()
    {
        Isolate iso = await Isolate.CreateAsync();

        await iso.CallAsync(Failing.StartUnobservedFailingTask);
        await Task.Delay(100); // let the task fail
        for (int i = 0; i < 50 && !iso.Completion.IsCompleted; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(20);
        }

        Assert.That(iso.State, Is.EqualTo(IsolateState.Faulted));
        var fault = Assert.ThrowsAsync<IsolateExecutionException>(() => iso.Completion);
        Assert.That(fault!.RemoteType, Is.EqualTo(typeof(InvalidTimeZoneException).FullName));
    }

    [Test]
    public async Task CallAsync_ExceptionWhoseMessageThrows_StillFailsTheCallCleanly()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(iso.CallAsync(Failing.ThrowWithBrokenMessage)));

        Assert.That(error!.RemoteType, Does.EndWith("BrokenMessageException"));
        Assert.That(await iso.CallAsync(Counter.Bump), Is.EqualTo(1), "the isolate is still usable");
    }

    [Test]
    public async Task AsyncVoidWithBrokenMessage_FaultsIsolateWithoutCrashingHost()
    {
        Isolate iso = await Isolate.CreateAsync();

        await iso.CallAsync(Failing.StartAsyncVoidWithBrokenMessage);

        Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(iso.Completion));
        Assert.That(iso.State, Is.EqualTo(IsolateState.Faulted));
    }

    [Test]
    public async Task CreateAsync_LoggerThatThrows_DoesNotBreakTheIsolate()
    {
        using var factory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(new ThrowingLoggerProvider()));
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { LoggerFactory = factory });

        Assert.That(await iso.CallAsync(Counter.Bump), Is.EqualTo(1));
        await Wait.Bounded(iso.CloseAsync());

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded));
    }

    [Test]
    public async Task CallAsync_TaskRequestedAsValue_FailsAsNotShareableInsteadOfHanging()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        Assert.That(await iso.CallAsync(Failing.FortyTwoAsync), Is.EqualTo(42));

        Assert.ThrowsAsync<NotShareableException>(() => Wait.Bounded(iso.CallAsync<Task<int>>(Failing.FortyTwoAsync)));
    }

    private sealed class ThrowingLoggerProvider : Microsoft.Extensions.Logging.ILoggerProvider
    {
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new ThrowingLogger();

        public void Dispose()
        {
        }

        private sealed class ThrowingLogger : Microsoft.Extensions.Logging.ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

            public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                throw new IOException("the log disk is full");
        }
    }
}
