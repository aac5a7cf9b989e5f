using System.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Processes;

/// <summary>
/// How a child-process isolate ends: whatever its code does (stack overflow, FailFast, Environment.Exit, an unhandled
/// exception on any thread, the memory limit), the host keeps running, every call completes, and Exited says why.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessEndTests
{
    private static Task<Isolate> ChildAsync(string name, long memoryLimit = 0, TimeSpan? closeTimeout = null) =>
        Isolate.CreateAsync(new IsolateOptions
        {
            Name = name,
            Placement = IsolatePlacement.ChildProcess,
            MemoryLimit = memoryLimit,
            CloseTimeout = closeTimeout ?? TimeSpan.FromSeconds(10),
        });

    [Test]
    public async Task KillAsync_CallRunning_CallFailsClosedAndProcessGone()
    {
        Isolate iso = await ChildAsync("to-kill");
        int pid = iso.ProcessId!.Value;
        Task<int> spinning = iso.CallAsync(ChildWork.SpinForever);
        Task<int> queued = iso.CallAsync(ChildWork.Bump);
        await Task.Delay(200);

        await Wait.Bounded(iso.KillAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.ThrowsAsync<IsolateClosedException>(() => spinning);
            Assert.ThrowsAsync<IsolateClosedException>(() => queued);
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Killed));
            Assert.That(iso.State, Is.EqualTo(IsolateState.Closed));
            Assert.That(OsProcesses.Gone(pid), Is.True);
            Assert.ThrowsAsync<IsolateClosedException>(() => iso.CallAsync(ChildWork.Bump), "later calls are refused");
        });
        await Wait.Bounded(iso.KillAsync()); // again: a no-op
        await Wait.Bounded(iso.CloseAsync());
    }

    [Test]
    public async Task CloseAsync_ChildStuckPastCloseTimeout_ChildKilledAndCallFails()
    {
        Isolate iso = await ChildAsync("stuck", closeTimeout: TimeSpan.FromMilliseconds(300));
        int pid = iso.ProcessId!.Value;
        Task<int> spinning = iso.CallAsync(ChildWork.SpinForever);
        await Task.Delay(200);

        var watch = Stopwatch.StartNew();
        await Wait.Bounded(iso.CloseAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)));
            Assert.ThrowsAsync<IsolateClosedException>(() => spinning);
            Assert.That(OsProcesses.Gone(pid), Is.True, "a stuck child really ends");
            Assert.That(exit.Reason, Is.AnyOf(IsolateExitReason.Stuck, IsolateExitReason.Closed));
        });
    }

    [Test]
    public async Task CloseAsync_Idle_ClosedCleanlyWithExitCodeZero()
    {
        Isolate iso = await ChildAsync("graceful");
        int pid = iso.ProcessId!.Value;
        Assert.That(await iso.CallAsync(ChildWork.Add, 1, 2), Is.EqualTo(3));
        await Wait.Bounded(iso.CloseAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Closed));
            Assert.That(exit.ExitCode, Is.EqualTo(0));
            Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded));
            Assert.That(iso.Completion.IsCompletedSuccessfully, Is.True);
            Assert.That(OsProcesses.Gone(pid), Is.True);
        });
    }

    private static IEnumerable<TestCaseData> Crashes()
    {
        yield return new TestCaseData((Func<Isolate, Task>)(iso => iso.CallAsync(ChildWork.Recurse, 0)), "Stack overflow").SetName("Crash_StackOverflow_HostSurvivesAndExitedSaysCrashed");
        yield return new TestCaseData((Func<Isolate, Task>)(iso => iso.CallAsync(ChildWork.FailFast)), "FailFast").SetName("Crash_FailFast_HostSurvivesAndExitedSaysCrashed");
        yield return new TestCaseData((Func<Isolate, Task>)(iso => iso.CallAsync(ChildWork.Exit, 42)), "exit code 42").SetName("Crash_EnvironmentExit_HostSurvivesAndExitedSaysCrashed");
        yield return new TestCaseData((Func<Isolate, Task>)(iso => iso.CallAsync(ChildWork.ThrowOnAnotherThread)), "InvalidTimeZoneException").SetName("Crash_UnhandledExceptionOnAnotherThread_HostSurvivesAndExitedSaysCrashed");
    }

    [TestCaseSource(nameof(Crashes))]
    public async Task Crash(Func<Isolate, Task> crash, string explained)
    {
        Isolate iso = await ChildAsync("crashing");
        Task pending = iso.CallAsync(ChildWork.DelayedAsync, "never", 60_000);
        Task crashing = crash(iso);

        var error = Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(crashing))!;
        Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(pending));
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        string everything = error.Message + " " + exit.Diagnostic + " " + string.Join(" ", exit.Output) + " " + exit.Fault;
        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Crashed));
            Assert.That(exit.ExitCode, Is.Not.Null.And.Not.EqualTo(0));
            Assert.That(everything, Does.Contain(explained));
            Assert.That(iso.State, Is.EqualTo(IsolateState.Faulted));
            Assert.That(iso.Completion.IsFaulted, Is.True);
        });
        await Wait.Bounded(iso.CloseAsync());
    }

    [Test]
    public async Task AsyncVoidThrowsInChild_IsolateFaultsAsInProcess()
    {
        Isolate iso = await ChildAsync("async-void");
        await iso.CallAsync(ChildWork.StartAsyncVoid);
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Faulted));
            Assert.That(exit.Fault?.RemoteType, Is.EqualTo(typeof(ApplicationException).FullName));
            Assert.That(exit.Fault?.Message, Is.EqualTo("escaped from async void"));
        });
    }

    [Test]
    public async Task MemoryLimit_ChildAllocatesPastIt_ExitedSaysMemoryLimitExceeded()
    {
        Isolate iso = await ChildAsync("capped", memoryLimit: 64L * 1024 * 1024);
        Assert.That(await iso.CallAsync(ChildWork.Hold, 8), Is.EqualTo(8), "below the limit, work runs");
        var error = Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(iso.CallAsync(ChildWork.Hold, 200)))!;
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.MemoryLimitExceeded));
            Assert.That(error.Message, Does.Contain("memory limit"));
        });
        Assert.That(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, Is.GreaterThan(64L * 1024 * 1024), "the host has no such limit");
    }

    [Test]
    public async Task Output_ChildWritesLines_ForwardedAndKept()
    {
        Isolate iso = await ChildAsync("talker");
        await iso.CallAsync(ChildWork.Write, "hello from the child");
        await Wait.Bounded(iso.KillAsync());
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.That(exit.Output, Does.Contain("hello from the child").And.Contain("err: hello from the child"));
    }

    [Test]
    public void Options_MemoryLimitInProcess_RefusedNamingTheFix()
    {
        var error = Assert.ThrowsAsync<ArgumentException>(() => Isolate.CreateAsync(new IsolateOptions { MemoryLimit = 256L * 1024 * 1024 }))!;
        Assert.That(error.Message, Does.Contain("ChildProcess"));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Isolate.CreateAsync(new IsolateOptions { Placement = IsolatePlacement.ChildProcess, MemoryLimit = 1024 }));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Isolate.CreateAsync(new IsolateOptions { Placement = (IsolatePlacement)7 }));
    }

    [Test]
    public async Task KillAsync_InProcess_NotSupportedNamingTheFix()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        var error = Assert.ThrowsAsync<NotSupportedException>(() => iso.KillAsync())!;
        Assert.That(error.Message, Does.Contain("ChildProcess"));
        Assert.That(iso.ProcessId, Is.Null);
    }
}

/// <summary>No orphans: a child whose host dies, even by SIGKILL, exits promptly.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessOrphanTests
{
    [Test]
    public async Task HostKilledWithSigkill_ItsChildExitsPromptly()
    {
        // The "host" here is itself a child-process isolate that starts a child of its own; killing it with SIGKILL
        // (not the tree) leaves its child to notice on its own that the pipe to its host has ended.
        Isolate host = await Isolate.CreateAsync(new IsolateOptions { Name = "host-to-die", Placement = IsolatePlacement.ChildProcess });
        int grandchild = await host.CallAsync(ChildWork.SpawnChildAsync);
        using (var hostProcess = Process.GetProcessById(host.ProcessId!.Value))
        {
            hostProcess.Kill(entireProcessTree: false);
        }

        var watch = Stopwatch.StartNew();
        await Diagnostics.Poll.Until(() => OsProcesses.Gone(grandchild), "the orphaned child to exit", TimeSpan.FromSeconds(10));
        TestContext.Out.WriteLine($"orphan exited {watch.ElapsedMilliseconds} ms after its host was killed");
        IsolateExit exit = await Wait.Bounded(host.Exited);
        Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Crashed), "killed from outside: the host of the test sees a crash (SIGKILL)");
        Assert.That(exit.Diagnostic, Does.Contain("SIGKILL"));
    }
}

/// <summary>The deadlock detector works in a child-process isolate too, with the same exception.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessDeadlockTests
{
    [Test]
    public async Task CallAsync_ChildBlocksOnResult_IsolateDeadlockExceptionAndChildEnds()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions
        {
            Placement = IsolatePlacement.ChildProcess,
            BlockedThreadTimeout = TimeSpan.FromMilliseconds(500),
        });
        var error = Assert.ThrowsAsync<IsolateDeadlockException>(() => Wait.Bounded(iso.CallAsync(DeadlockWork.BlockOnResult)))!;
        IsolateExit exit = await Wait.Bounded(iso.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain(nameof(DeadlockWork.BlockOnResult)));
            Assert.That(error.IsolateId, Is.EqualTo(iso.Id));
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Faulted));
        });
        await Wait.Bounded(iso.CloseAsync());
    }
}
