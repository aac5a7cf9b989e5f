using Isolates.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Pool;

/// <summary>The one logging rule on the pool's replacement path: logging is best effort, the replacement is not.</summary>
[TestFixture]
[CancelAfter(150_000)]
public class PoolLoggingTests
{
    private static readonly TimeSpan SlowMachine = TimeSpan.FromSeconds(60);

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

        // Bounds of a minute: in a full CI run this test once took 50 s with 20 s bounds while the whole process was
        // slow (the crash call, which fails at once when the machine is idle, took most of its bound too).
        Assert.CatchAsync<IsolateClosedException>(() => pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1).WaitAsync(SlowMachine));

        try
        {
            Assert.That(await pool.SubmitAsync(PoolWork.Square, 7).WaitAsync(SlowMachine), Is.EqualTo(49));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The submit after the crash did not complete within {SlowMachine}: replacements {pool.Replacements}, slots awaiting replacement " +
                $"{pool.SlotsAwaitingReplacement}, isolates [{string.Join(", ", pool.Isolates.Select(i => i.ToString()))}]");
        }

        Assert.That(pool.Replacements, Is.EqualTo(1));
        Assert.That(pool.SlotsAwaitingReplacement, Is.Zero);
    }
}
