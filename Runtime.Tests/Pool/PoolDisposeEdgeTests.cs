using System.Runtime.CompilerServices;
using Isolates.Tests.Support;

namespace Isolates.Tests.Pool;

/// <summary>Pool disposal at its edges: sources that misbehave while DisposeTimeout runs out.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class PoolDisposeEdgeTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    [Test]
    public async Task MapAsync_StreamBlockedIgnoringCancellationWhenDisposeTimesOut_FailsWithPoolClosedException([Values] bool ordered)
    {
        // Every piece of work cut short by a dispose fails with IsolatePoolClosedException: a source that never yields
        // again and ignores its token (a network read without a timeout, say) must not keep the map pending forever.
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, Name = "stuck-source", DisposeTimeout = Short });
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task map = ordered
            ? pool.MapAsync(BlockedAfterAsync(5, blocked.Task), PoolDisposeWork.SleepOne)
            : DrainAsync(pool.MapUnorderedAsync(BlockedAfterAsync(5, blocked.Task), PoolDisposeWork.SleepOne));
        await Task.Delay(200); // the five items are mapped; the source now blocks

        await Wait.Bounded(pool.DisposeAsync().AsTask());

        try
        {
            var error = Assert.ThrowsAsync<IsolatePoolClosedException>(() => Wait.Bounded(map));
            Assert.That(error!.ItemsTotal, Is.EqualTo(5));
            Assert.That(error.Message, Does.Contain("not read to its end"));
        }
        finally
        {
            blocked.TrySetResult(); // lets the source (and a map left pending) end after the test
        }
    }

    private static async Task DrainAsync<T>(IAsyncEnumerable<T> items)
    {
        await foreach (T _ in items)
        {
        }
    }

    private static async IAsyncEnumerable<int> BlockedAfterAsync(int count, Task blocked, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < count; i++)
        {
            yield return i;
        }

        _ = cancellationToken; // ignored on purpose
        await blocked;
    }
}
