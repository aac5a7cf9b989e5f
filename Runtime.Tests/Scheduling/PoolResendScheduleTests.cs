using System.Collections.Concurrent;
using Isolates.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// A chunk refused before it started (its isolate closed) while the map's source is already exhausted, under
/// controlled scheduling: the other isolate's driver is held exactly between finding nothing to take and deciding
/// whether the map is done, while the refused chunk comes back. The map must not complete before that chunk ran.
/// </summary>
[NonParallelizable] // the scheduler is process-wide; the gates and run counters live in AppDomain data
public sealed class PoolResendScheduleTests
{
    private const int Items = 40;

    [Test]
    [CancelAfter(60_000)]
    public async Task MapAsync_ChunkRefusedAfterSourceExhausted_MapWaitsAndRunsItExactlyOnce()
    {
        using var blocked = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int[] runs = new int[Items];
        AppDomain.CurrentDomain.SetData(PoolResendWork.BlockedKey, blocked);
        AppDomain.CurrentDomain.SetData(PoolResendWork.ReleaseKey, release);
        AppDomain.CurrentDomain.SetData(PoolResendWork.RunsKey, runs);
        var scheduler = new HoldAtScheduler("pool.map.nothingTaken", Wait.Timeout);
        try
        {
            await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
            {
                Size = 2,
                ChunkSize = 1,
                Name = "resend-exhausted",
                IsolateOptions = new IsolateOptions { WaitForUnload = false },
            });
            await Diagnostics.Poll.Until(() => pool.Isolates.All(i => i.State == IsolateState.Running), "both isolates to run");
            Isolate victim = pool.Isolates[0];
            Task<int> blocker = victim.CallAsync(PoolResendWork.Block); // the map's chunks for it queue behind this call
            Assert.That(blocked.Wait(Wait.Timeout), Is.True, "the blocking call to run");

            Task<IReadOnlyList<int>> map;
            using (Interleave.Install(scheduler))
            {
                map = pool.MapAsync(Enumerable.Range(0, Items), PoolResendWork.CountRun);

                // The other isolate ran the rest (stealing the victim's newest chunk) and found the source exhausted;
                // its driver is held before it looks whether any chunk is still out. The victim's first chunk is.
                // (Bounded looks rather than failing polls: a runtime without these points fails below, on the map.)
                bool held = await WithinAsync(() => scheduler.Held);
                Task closing = victim.CloseAsync(); // refuses the chunk queued behind the blocking call: it never started
                await WithinAsync(() => scheduler.Hits("pool.map.chunkRefused") > 0 || map.IsCompleted);
                await Task.Delay(50); // it comes back and stops counting as out
                scheduler.Release(); // the held driver must see the chunk that came back, not a finished map
                release.Set();
                Assert.That(await Wait.Bounded(blocker), Is.Zero, "the running call finishes despite the close");
                await Wait.Bounded(closing);

                IReadOnlyList<int> results = await Wait.Bounded(map);

                Assert.Multiple(() =>
                {
                    Assert.That(results, Is.EqualTo(Enumerable.Range(0, Items)));
                    Assert.That(runs, Is.All.EqualTo(1), "every item ran exactly once");
                    Assert.That(held, Is.True, "the other driver was held after finding nothing left to take");
                    Assert.That(scheduler.Hits("pool.map.chunkRefused"), Is.EqualTo(1), "one chunk came back");
                });
            }
        }
        finally
        {
            scheduler.Release();
            release.Set();
            AppDomain.CurrentDomain.SetData(PoolResendWork.BlockedKey, null);
            AppDomain.CurrentDomain.SetData(PoolResendWork.ReleaseKey, null);
            AppDomain.CurrentDomain.SetData(PoolResendWork.RunsKey, null);
        }
    }

    private static async Task<bool> WithinAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(5))
            {
                return false;
            }

            await Task.Delay(5);
        }

        return true;
    }

    /// <summary>Counts every point; holds the first thread that reaches <paramref name="point"/> until released.</summary>
    private sealed class HoldAtScheduler(string point, TimeSpan patience) : IInterleaveScheduler
    {
        private readonly ConcurrentDictionary<string, int> _hits = new();
        private int _held;
        private volatile bool _released;

        public bool Held => Volatile.Read(ref _held) != 0;

        public int Hits(string name) => _hits.TryGetValue(name, out int count) ? count : 0;

        public void Release() => _released = true;

        public void Point(string name)
        {
            _hits.AddOrUpdate(name, 1, static (_, count) => count + 1);
            if (name != point || Interlocked.Exchange(ref _held, 1) != 0)
            {
                return;
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!_released && clock.Elapsed < patience)
            {
                Thread.Sleep(1);
            }
        }
    }
}
