using System.Diagnostics;
using Isolates.Scripting;
using Isolates.Tests.Scripting;
using Isolates.Tests.Support;

namespace Isolates.Tests.Processes;

/// <summary>Scripts (compiled in memory on the host) and the trace context reach a child-process isolate.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessScriptAndTraceTests
{
    [Test]
    public async Task RunFileAsync_ChildProcess_ScriptCompiledInHostRunsInChild()
    {
        using var scripts = new TempScripts();
        string path = scripts.Write("pid.csx", """
            static int Twice(int x) => x * 2;
            return System.Environment.ProcessId == int.Parse(args[0]) ? 1 : Twice(21);
            """);
        int exit = await ScriptRunner.RunFileAsync(path, [Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new ScriptRunOptions { IsolateOptions = new IsolateOptions { Name = "script-child", Placement = IsolatePlacement.ChildProcess } });
        Assert.That(exit, Is.EqualTo(42), "the script ran, and not in the host's process");
    }

    [Test]
    public async Task CallAsync_ChildProcess_CallersTraceContinuesInChild()
    {
        using var source = new ActivitySource("Isolates.Tests.ChildTrace");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Isolates" or "Isolates.Tests.ChildTrace",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Placement = IsolatePlacement.ChildProcess });

        using Activity request = source.StartActivity("request")!;
        string traceInChild = await iso.CallAsync(ChildWork.TraceId);
        Assert.That(traceInChild, Is.EqualTo(request.TraceId.ToHexString()));
    }
}

/// <summary>Pre-warmed child processes: KeepWarm works per placement, and a spare child is handed out at once.</summary>
[TestFixture]
[CancelAfter(120_000)]
[NonParallelizable]
public class ChildProcessWarmTests
{
    [Test]
    public async Task KeepWarm_ChildProcess_CreateAsyncHandsOutARunningChildAtOnce()
    {
        var options = new IsolateOptions { Placement = IsolatePlacement.ChildProcess, Name = "warm-child" };
        await Isolate.KeepWarm(1, options);
        try
        {
            await Diagnostics.Poll.Until(() => Isolate.WarmCount >= 1, "a spare child", TimeSpan.FromSeconds(30));
            var watch = Stopwatch.StartNew();
            await using Isolate iso = await Isolate.CreateAsync(options);
            TimeSpan handOut = watch.Elapsed;
            int pid = await iso.CallAsync(ChildWork.ProcessId);
            Assert.Multiple(() =>
            {
                Assert.That(handOut, Is.LessThan(TimeSpan.FromMilliseconds(50)), "no process start on the request path");
                Assert.That(iso.Name, Is.EqualTo("warm-child"));
                Assert.That(iso.ProcessId, Is.EqualTo(pid).And.Not.EqualTo(Environment.ProcessId));
            });
        }
        finally
        {
            await Isolate.KeepWarm(0, options);
        }
    }

    [Test]
    public async Task KeepWarm_SpareChildDiesWhileWaiting_NeverHandedOut()
    {
        // A memory limit of its own makes its spares its own (spares are kept per placement and limit, not per name).
        var options = new IsolateOptions { Placement = IsolatePlacement.ChildProcess, Name = "dead-spare", MemoryLimit = 200L * 1024 * 1024 };

        // The previous test's refill may still be starting a spare with these same options: taken into this pool (its
        // count is 1 again) it was in 'before' and no new child appeared. It closes itself when it finds the count at 0.
        await Diagnostics.Poll.Until(() => OsProcesses.ChildProcessIds().Length == 0, "earlier tests' children to end");
        int[] before = OsProcesses.ChildProcessIds();
        await Isolate.KeepWarm(1, options);
        try
        {
            await Diagnostics.Poll.Until(() => Isolate.WarmCount >= 1, "a spare child", TimeSpan.FromSeconds(30));
            int spare = OsProcesses.ChildProcessIds().Except(before).Single();
            using (var process = Process.GetProcessById(spare))
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            await using Isolate iso = await Isolate.CreateAsync(options);
            Assert.That(await Wait.Bounded(iso.CallAsync(ChildWork.Add, 1, 2)), Is.EqualTo(3));
            Assert.That(iso.ProcessId, Is.Not.EqualTo(spare));
        }
        finally
        {
            await Isolate.KeepWarm(0, options);
        }
    }
}
