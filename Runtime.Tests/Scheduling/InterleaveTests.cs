using Isolates.Channels;
using Isolates.Diagnostics;

namespace Isolates.Tests.Scheduling;

/// <summary>The scheduling machinery itself: the points are on in this process, reach the installed scheduler, and stop when it is removed.</summary>
[NonParallelizable]
public sealed class InterleaveTests
{
    [Test]
    public void Point_SchedulerInstalled_ReachesItOnlyUntilTheScopeEnds()
    {
        var scheduler = new SeededScheduler(1, delays: false);
        var ring = new RingChannel<int>(2);
        using (Interleave.Install(scheduler))
        {
            Assert.That(ring.Writer.TryWrite(1), Is.True);
        }

        Assert.That(ring.Reader.TryRead(out _), Is.True);
        Assert.That(scheduler.Hits.Keys, Does.Contain("ring.write.claimed").And.Not.Contain("ring.read.claimed"));
    }

    [Test]
    public void Install_AnotherSchedulerInstalled_FailsSayingTestsMustNotOverlap()
    {
        using (Interleave.Install(new SeededScheduler(1)))
        {
            Assert.That(() => Interleave.Install(new SeededScheduler(2)), Throws.InvalidOperationException.With.Message.Contains("must not run in parallel"));
        }
    }
}
