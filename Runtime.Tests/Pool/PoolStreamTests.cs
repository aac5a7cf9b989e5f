using System.Runtime.CompilerServices;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Pool;

/// <summary>
/// Maps over async streams: a cancelled map never waits for a stream that ignores its token, and a slow consumer of
/// <c>MapUnorderedAsync</c> holds back the reading of the stream.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class PoolStreamTests
{
    /// <summary>Well under the pools' DisposeTimeout here, so a map or dispose that waits for the stream shows.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Test]
    public async Task MapAsync_StreamIgnoresItsTokenWhenCancelled_EndsAtOnceAndStreamIsDisposedWhenItAnswers([Values] bool ordered)
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, Name = "silent", DisposeTimeout = Wait.Timeout });
        var stream = new SilentStream(items: 3);
        using var cancel = new CancellationTokenSource();
        Task map = ordered
            ? pool.MapAsync(stream, PoolWork.Square, cancel.Token)
            : DrainAsync(pool.MapUnorderedAsync(stream, PoolWork.Square, cancel.Token));
        try
        {
            await Poll.Until(() => stream.Waiting, "the pool waiting for the stream's fourth item");

            await cancel.CancelAsync();

            Assert.CatchAsync<OperationCanceledException>(() => map.WaitAsync(Prompt), "the cancelled map ends though the stream never answers");
            Assert.That(stream.Disposed, Is.False, "a stream is not disposed while a move is pending");
            await pool.DisposeAsync().AsTask().WaitAsync(Prompt); // nothing left running: the dispose does not wait for the stream
        }
        finally
        {
            stream.Answer(); // lets a map left pending (before the fix) end after the test
        }

        await Poll.Until(() => stream.Disposed, "the stream disposed once its pending move returned");
    }

    [Test]
    public async Task MapAsync_StreamIgnoresItsTokenAndFailsAfterCancel_FailureIsObservedAndStreamIsDisposed([Values] bool ordered)
    {
        string marker = "late stream failure " + Guid.NewGuid();
        var unobserved = new List<Exception>();
        void Record(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            lock (unobserved)
            {
                unobserved.AddRange(e.Exception.Flatten().InnerExceptions.Where(x => x.Message == marker));
            }
        }

        TaskScheduler.UnobservedTaskException += Record;
        try
        {
            await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, Name = "silent-fails", DisposeTimeout = Wait.Timeout });
            var stream = new SilentStream(items: 0);
            using var cancel = new CancellationTokenSource();
            Task map = ordered
                ? pool.MapAsync(stream, PoolWork.Square, cancel.Token)
                : DrainAsync(pool.MapUnorderedAsync(stream, PoolWork.Square, cancel.Token));
            try
            {
                await Poll.Until(() => stream.Waiting, "the pool waiting for the stream's first item");
                await cancel.CancelAsync();
                Assert.CatchAsync<OperationCanceledException>(() => map.WaitAsync(Prompt), "the cancelled map ends though the stream never answers");
            }
            finally
            {
                stream.Fail(new InvalidOperationException(marker));
            }

            await Poll.Until(() => stream.Disposed, "the stream disposed once its pending move failed");
            for (int i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            lock (unobserved)
            {
                Assert.That(unobserved, Is.Empty, "the move's failure, arriving after the map ended, is observed");
            }
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= Record;
        }
    }

    [Test]
    public async Task MapUnorderedAsync_StreamWithSlowConsumer_ReadsAtMostThreeTimesMaxQueuedItemsAheadOfTheConsumer()
    {
        const int Queued = 16;
        const int Count = 2_000;
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, MaxQueuedItems = Queued });
        int read = 0;
        async IAsyncEnumerable<int> Counting()
        {
            for (int i = 0; i < Count; i++)
            {
                if (i % 64 == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Increment(ref read);
                yield return i;
            }
        }

        var seen = new List<int>();
        int mostAhead = 0;
        using var timeout = new CancellationTokenSource(Wait.Timeout);
        await foreach (int square in pool.MapUnorderedAsync(Counting(), PoolWork.Square).WithCancellation(timeout.Token))
        {
            seen.Add(square);
            if (seen.Count <= 3)
            {
                await Task.Delay(300); // the isolates could map the whole stream meanwhile
            }
            else if (seen.Count % 200 == 0)
            {
                await Task.Delay(20);
            }

            mostAhead = Math.Max(mostAhead, Volatile.Read(ref read) - seen.Count);
        }

        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(0, Count).Select(x => x * x)));
        Assert.That(mostAhead, Is.LessThanOrEqualTo(3 * Queued), "items read from the stream beyond those the consumer took");
    }

    [Test]
    public async Task MapUnorderedAsync_StreamConsumerStopsWhileThePoolWaitsForIt_EndsAndDisposesTheStream()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, MaxQueuedItems = 8 });
        var source = new EndlessSource();

        await Wait.Bounded(Task.Run(async () =>
        {
            await foreach (int _ in pool.MapUnorderedAsync(source.ReadAsync(), PoolWork.Square))
            {
                await Task.Delay(300); // the pool fills its window of results and waits for this consumer
                break;
            }
        }));

        Assert.That(source.Ended, Is.True, "the stream's enumerator was disposed when the map ended");
        Assert.That(source.Produced, Is.LessThanOrEqualTo(1 + (3 * 8)));
    }

    [Test]
    public async Task DisposeAsync_FromInsideAnUnorderedStreamEnumeration_MapFinishesAndEveryResultIsYielded()
    {
        // The pool waits for a slow consumer, but not once it is disposing: a consumer that disposes the pool from its
        // loop must not wait for itself (until DisposeTimeout, or forever).
        IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, MaxQueuedItems = 8, DisposeTimeout = Timeout.InfiniteTimeSpan });
        var seen = new List<int>();

        await Wait.Bounded(Task.Run(async () =>
        {
            await foreach (int result in pool.MapUnorderedAsync(RangeAsync(600), PoolDisposeWork.SleepOne))
            {
                seen.Add(result);
                if (seen.Count == 50)
                {
                    await pool.DisposeAsync();
                }
            }
        }));

        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(1, 600)));
    }

    private static async Task DrainAsync<T>(IAsyncEnumerable<T> items)
    {
        await foreach (T _ in items)
        {
        }
    }

    private static async IAsyncEnumerable<int> RangeAsync(int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (i % 32 == 0)
            {
                await Task.Yield();
            }

            yield return i;
        }
    }

    /// <summary>Counts what it yields; ends (its finally runs) when its enumerator is disposed.</summary>
    private sealed class EndlessSource
    {
        private int _produced;
        private volatile bool _ended;

        public int Produced => Volatile.Read(ref _produced);

        public bool Ended => _ended;

        public async IAsyncEnumerable<int> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            try
            {
                for (int i = 0; ; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (i % 32 == 0)
                    {
                        await Task.Yield();
                    }

                    Interlocked.Increment(ref _produced);
                    yield return i;
                }
            }
            finally
            {
                _ended = true;
            }
        }
    }

    /// <summary>
    /// Yields <c>items</c> items, then a move that returns only when the test says so, whatever the token says (a
    /// network read without a timeout). Disposing it during that move is an error the test would see.
    /// </summary>
    private sealed class SilentStream(int items) : IAsyncEnumerable<int>, IAsyncEnumerator<int>
    {
        private readonly TaskCompletionSource<bool> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _position = -1;
        private volatile bool _waiting;
        private volatile bool _disposed;

        public bool Waiting => _waiting;

        public bool Disposed => _disposed;

        public int Current => _position;

        public void Answer() => _answer.TrySetResult(false);

        public void Fail(Exception exception) => _answer.TrySetException(exception);

        public IAsyncEnumerator<int> GetAsyncEnumerator(CancellationToken cancellationToken = default) => this;

        public ValueTask<bool> MoveNextAsync()
        {
            if (_position + 1 < items)
            {
                _position++;
                return new(true);
            }

            _waiting = true;
            return new(WaitForAnswerAsync()); // a task only the pool holds: left unobserved, it would be reported
        }

        public ValueTask DisposeAsync()
        {
            if (_waiting && !_answer.Task.IsCompleted)
            {
                throw new InvalidOperationException("disposed during a pending MoveNextAsync");
            }

            _disposed = true;
            return ValueTask.CompletedTask;
        }

        private async Task<bool> WaitForAnswerAsync() => await _answer.Task.ConfigureAwait(false);
    }
}
