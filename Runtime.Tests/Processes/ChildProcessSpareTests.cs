using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Processes;

/// <summary>A pre-warmed child (KeepWarm) handed out to a creation takes that creation's options in the child too.</summary>
[TestFixture]
[NonParallelizable] // KeepWarm's spares are process-wide
[CancelAfter(120_000)]
public class ChildProcessSpareTests
{
    [Test]
    public async Task CreateAsync_WarmChildSpareMadeWithoutDeadlockDetection_DetectsWithTheCreationsTimeout()
    {
        // A spare pool of its own (the memory limit is part of the spare's key; the deadlock timeout is not, so a
        // creation with any timeout takes this spare).
        var spareOptions = new IsolateOptions
        {
            Placement = IsolatePlacement.ChildProcess,
            MemoryLimit = 97L * 1024 * 1024,
            CloseTimeout = TimeSpan.FromSeconds(5),
            BlockedThreadTimeout = Timeout.InfiniteTimeSpan,
        };
        await Isolate.KeepWarm(1, spareOptions);
        Isolate? iso = null;
        try
        {
            await Poll.Until(() => Isolate.WarmCount >= 1, "the spare child is ready");
            iso = await Wait.Bounded(Isolate.CreateAsync(spareOptions with { Name = "adopted-detection", BlockedThreadTimeout = TimeSpan.FromMilliseconds(500) }));

            // An in-process spare is watched from its hand-out with the creation's timeout; the child's isolate, watched
            // (or not) with the spare's options from its start, must follow the adopted timeout too.
            Assert.ThrowsAsync<IsolateDeadlockException>(() => Wait.Bounded(iso.CallAsync(DeadlockWork.BlockOnResult)));
        }
        finally
        {
            await Isolate.KeepWarm(0, spareOptions);
            if (iso is not null)
            {
                await Wait.Bounded(iso.KillAsync());
            }
        }
    }
}
