using Isolates.Tests.Scheduling;
using Isolates.Tests.Support.Proxies;

namespace Isolates.Tests.Proxies;

/// <summary>A release racing with a call that has passed the proxy's checks but is not queued yet, forced with a scheduling point.</summary>
[TestFixture]
[NonParallelizable]
[CancelAfter(60_000)]
public sealed class ProxyReleaseScheduleTests
{
    [Test]
    public async Task ReleaseAsync_WhileACallIsBeingDispatched_IsQueuedAfterIt_SoTheCallSucceeds()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        IInventory inventory = await iso.CreateObjectAsync<IInventory, Inventory>();
        bool releasing = false;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan releaseStarted = TimeSpan.MaxValue;

        // The call is held between its checks and its enqueue until the release has had 100 ms to overtake it.
        var scheduler = new HoldingScheduler("proxy.call.checked", () => Volatile.Read(ref releasing) && clock.Elapsed > releaseStarted + TimeSpan.FromMilliseconds(100), Wait.Timeout);
        using (Isolates.Diagnostics.Interleave.Install(scheduler))
        {
            Task<int> call = Task.Run(() => inventory.AddAsync("apple", 1));
            await Tests.Diagnostics.Poll.Until(() => scheduler.Held, "the call to reach the point");
            releaseStarted = clock.Elapsed;
            Volatile.Write(ref releasing, true);
            Task release = Task.Run(() => Isolate.ReleaseAsync(inventory));

            Assert.That(await Wait.Bounded(call), Is.EqualTo(1), "a call made before the release runs before it");
            await Wait.Bounded(release);
        }

        Assert.That(iso.ObjectCount, Is.Zero);
    }
}
