using Isolates.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Pool;

/// <summary>The one logging rule on the pool's replacement path: logging is best effort, the replacement is not.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class PoolLoggingTests
{
    [Test]
    public async Task Replace_LoggerThrowsOnEveryCall_SlotIsReplacedAndLaterWorkRuns()
    {
        var throwing = new ThrowingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(throwing).SetMinimumLevel(LogLevel.Trace));
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 1,
            Name = "throwing-log",
            IsolateOptions = new IsolateOptions { LoggerFactory = factory },
        });

        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));

        Assert.That(await Wait.Bounded(pool.SubmitAsync(PoolWork.Square, 7)), Is.EqualTo(49));
        Assert.That(pool.Replacements, Is.EqualTo(1));
        Assert.That(throwing.Calls, Is.GreaterThan(0), "the fault and the replacement were logged to the throwing logger");
    }

    [Test]
    public async Task Replace_LoggerFactoryDisposedMeanwhile_SlotIsReplacedAndLaterWorkRuns()
    {
        // The application's container disposes its logger factory at shutdown, while a pool made with it may still
        // replace an isolate: CreateLogger then throws ObjectDisposedException, which failed every replacement start.
        var factory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider()));
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
        {
            Size = 1,
            Name = "disposed-log",
            IsolateOptions = new IsolateOptions { LoggerFactory = factory },
        });
        factory.Dispose();

        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));

        Assert.That(await Wait.Bounded(pool.SubmitAsync(PoolWork.Square, 7)), Is.EqualTo(49));
        Assert.That(pool.Replacements, Is.EqualTo(1));
        Assert.That(pool.SlotsAwaitingReplacement, Is.Zero);
    }
}
