using Isolates.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Isolates.Tests.Unloading;

[TestFixture]
[CancelAfter(60_000)]
public class UnloadTests
{
    [Test]
    public async Task CloseAsync_AfterCallsWithUserTypes_ContextIsCollected()
    {
        Isolate iso = await Isolate.CreateAsync();
        await iso.CallAsync(Geometry.Scale, new Point(1, 1), 2);
        await iso.CallAsync(Echo.Node, new Node { Value = 1, Next = new Node { Value = 2 } });
        await iso.CallAsync(Work.SumAsync, 10);

        await iso.CloseAsync();

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
        Assert.That(iso.UnloadDiagnostic, Is.Null);
    }

    [Test]
    public async Task CloseAsync_AfterRecordsCrossedOftenEnoughToCompileTheirCodec_ContextIsCollected()
    {
        Isolate iso = await Isolate.CreateAsync();
        for (int i = 0; i < Isolates.Wire.ObjectCodec.CompileThreshold * 2; i++)
        {
            Point scaled = await iso.CallAsync(Geometry.Scale, new Point(i, -i), 2);
            Assert.That(scaled, Is.EqualTo(new Point(2 * i, -2 * i)), "the compiled accessors give the same values");
        }

        Reading calibrated = await iso.CallAsync(ShareableWork.Calibrate, new Reading("s", 1, DateTime.UnixEpoch, []));
        await iso.CloseAsync();

        Assert.That(calibrated.Value, Is.EqualTo(2));
        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_IsolateRegisteredInSharedEvent_ReportsLeakedWithDiagnosticAndLogs()
    {
        var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions
        {
            Name = "leaky",
            UnloadTimeout = TimeSpan.FromMilliseconds(300),
            LoggerFactory = factory,
        });
        await iso.CallAsync(Failing.LeakIntoSharedEvent);

        await Wait.Bounded(iso.CloseAsync());

        Assert.Multiple(() =>
        {
            Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Leaked));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("leaky").And.Contain("still alive"));
            Assert.That(logs.EventIds, Does.Contain(5), "IsolateUnloadFailed is logged");
            Assert.That(logs.EventIds, Does.Contain(1).And.Contain(2), "started and stopped are logged");
        });
    }

    [Test]
    public async Task CloseAsync_WaitForUnloadFalse_ReturnsBeforeTheCheckAndReportsLater()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { WaitForUnload = false });
        await iso.CallAsync(Counter.Bump);

        await iso.CloseAsync();

        Assert.That(iso.State, Is.EqualTo(IsolateState.Closed));
        Assert.That(await Wait.Bounded(iso.Unloaded), Is.EqualTo(UnloadStatus.Unloaded));
    }

    [Test]
    [Category("Stress")]
    public async Task CreateCallClose_ThousandCyclesWithMegabyteStatics_HeapStaysFlatAndAllUnload()
    {
        const int Cycles = 1_000;
        var statuses = new Dictionary<UnloadStatus, int>();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = GC.GetTotalMemory(forceFullCollection: true);

        for (int i = 0; i < Cycles; i++)
        {
            Isolate iso = await Isolate.CreateAsync(new IsolateOptions { WaitForUnload = false });
            Assert.That(await iso.CallAsync(Work.FillStaticMegabyte), Is.EqualTo(1024 * 1024));
            await iso.CloseAsync();
            _ = iso.Unloaded.ContinueWith(t => { lock (statuses) { statuses[t.Result] = statuses.GetValueOrDefault(t.Result) + 1; } }, TaskScheduler.Default);
        }

        for (int i = 0; i < 200 && Count(statuses) < Cycles; i++)
        {
            await Task.Delay(50);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long after = GC.GetTotalMemory(forceFullCollection: true);

        Assert.That(statuses.GetValueOrDefault(UnloadStatus.Unloaded), Is.EqualTo(Cycles), $"statuses: {string.Join(", ", statuses)}");
        Assert.That(after - before, Is.LessThan(20L * 1024 * 1024), $"heap grew by {(after - before) / 1024} KB over {Cycles} isolates");
        Assert.That(Isolate.All, Is.Empty.Or.All.Matches<Isolate>(i => i.State == IsolateState.Running), "no closed isolate is still listed");
    }

    private static int Count(Dictionary<UnloadStatus, int> statuses)
    {
        lock (statuses)
        {
            return statuses.Values.Sum();
        }
    }
}
