using System.Diagnostics;
using Isolates.Diagnostics;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Processes;

/// <summary>
/// Child-process isolates attacked at their edges: processes the child starts, spares that died while waiting, a kill
/// or a cancellation that arrives in a window of the start or the call. Every call and every end must complete.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessAdversaryTests
{
    private static IsolateOptions Child(string? name = null, long memoryLimit = 0) => new()
    {
        Name = name,
        Placement = IsolatePlacement.ChildProcess,
        MemoryLimit = memoryLimit,
        CloseTimeout = TimeSpan.FromSeconds(5),
    };

    private static void KillQuietly(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // gone already
        }
    }

    /// <summary>This process's children that are child-process isolates (Linux: /proc).</summary>
    private static HashSet<int> ChildIsolatePids()
    {
        var pids = new HashSet<int>();
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out int pid))
            {
                continue;
            }

            try
            {
                string stat = File.ReadAllText(Path.Combine(directory, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == Environment.ProcessId
                    && File.ReadAllText(Path.Combine(directory, "environ")).Contains("ISOLATES_CHILD_ENDPOINT=", StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // it ended meanwhile
            }
        }

        return pids;
    }

    [Test]
    public async Task CloseAsync_ChildStartedAProcessThatKeepsItsOutputOpen_ClosesPromptly()
    {
        Isolate iso = await Isolate.CreateAsync(Child("keeps-output"));
        int sleeper = await iso.CallAsync(ChildAdversaryWork.StartSleeper, 60);
        try
        {
            var watch = Stopwatch.StartNew();
            await Wait.Bounded(iso.CloseAsync());
            IsolateExit exit = await Wait.Bounded(iso.Exited);
            Assert.Multiple(() =>
            {
                Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)), "the sleeper's hold on the output must not hold the close");
                Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Closed));
                Assert.That(iso.State, Is.EqualTo(IsolateState.Closed));
            });
        }
        finally
        {
            KillQuietly(sleeper);
        }
    }

    [Test]
    public async Task CallAsync_ChildExitsLeavingAProcessThatKeepsItsOutputOpen_CallFailsPromptly()
    {
        Isolate iso = await Isolate.CreateAsync(Child("exits-leaving-output"));
        int pid = iso.ProcessId!.Value;
        string marker = Path.Combine(Path.GetTempPath(), $"isolates-adv-sleeper-{pid}");
        try
        {
            var watch = Stopwatch.StartNew();
            Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(iso.CallAsync(ChildAdversaryWork.StartSleeperThenExit, 60)));
            IsolateExit exit = await Wait.Bounded(iso.Exited);
            Assert.Multiple(() =>
            {
                Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)));
                Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Crashed));
                Assert.That(exit.ExitCode, Is.EqualTo(5));
            });
        }
        finally
        {
            if (File.Exists(marker))
            {
                KillQuietly(int.Parse(File.ReadAllText(marker), System.Globalization.CultureInfo.InvariantCulture));
                File.Delete(marker);
            }

            await Wait.Bounded(iso.KillAsync());
        }
    }

    [Test]
    public async Task CallAsync_ChildStartsAProcess_ItInheritsNoneOfTheChildsIsolateVariables()
    {
        Isolate iso = await Isolate.CreateAsync(Child("environment", memoryLimit: 128L * 1024 * 1024));
        try
        {
            string seen = await Wait.Bounded(iso.CallAsync(ChildAdversaryWork.EnvironmentOfAStartedProcess, new[] { "ISOLATES_CHILD_ENDPOINT", "DOTNET_STARTUP_HOOKS", "DOTNET_GCHeapHardLimit" }));
            Assert.That(seen, Is.EqualTo("ISOLATES_CHILD_ENDPOINT=;DOTNET_STARTUP_HOOKS=;DOTNET_GCHeapHardLimit=;"), "a process the child starts is an ordinary process, without the child's memory limit");
        }
        finally
        {
            await Wait.Bounded(iso.CloseAsync());
        }
    }

    [Test]
    public async Task CreateAsync_WarmChildSpareDiedWhileWaiting_HandsOutALiveChildAndDoesNotListTheDeadOne()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("finds the spare's process through /proc");
        }

        IsolateOptions options = Child(memoryLimit: 97L * 1024 * 1024); // a spare pool of its own
        HashSet<int> before = ChildIsolatePids();
        await Isolate.KeepWarm(1, options);
        Isolate? iso = null;
        try
        {
            int spare = 0;
            await Poll.Until(() => (spare = ChildIsolatePids().Except(before).FirstOrDefault()) != 0 && Isolate.WarmCount >= 1, "the spare child is ready");
            KillQuietly(spare);
            await Poll.Until(() => OsProcesses.Gone(spare), "the spare child is gone");
            await Task.Delay(500); // the host reads the pipe's end

            iso = await Wait.Bounded(Isolate.CreateAsync(options with { Name = "after-spare-died" }));
            Assert.Multiple(async () =>
            {
                Assert.That(await Wait.Bounded(iso.CallAsync(ChildWork.Add, 2, 3)), Is.EqualTo(5), "the isolate handed out runs");
                Assert.That(Isolate.All.Where(i => i.State is IsolateState.Closed or IsolateState.Faulted), Is.Empty, "an ended isolate is not listed");
            });
        }
        finally
        {
            await Isolate.KeepWarm(0, options);
            if (iso is not null)
            {
                await Wait.Bounded(iso.KillAsync());
            }

            // A replacement spare may still be starting: it closes itself once started; leave no process behind.
            await Poll.Until(() => !ChildIsolatePids().Except(before).Any(), "the spares of this test are gone");
        }
    }

    [Test]
    public async Task KillAsync_WhileTheChildStarts_ProcessEndsAndIsolateIsNotLeftRunning()
    {
        const string Name = "killed-while-starting";
        Task<Isolate> creating = Isolate.CreateAsync(Child(Name));
        Isolate? starting = null;
        await Poll.Until(() => (starting = Isolate.All.FirstOrDefault(i => i.Name == Name)) is not null || creating.IsCompleted, "the isolate is listed while it starts");
        if (starting is null || starting.State != IsolateState.Starting)
        {
            Assert.Inconclusive("the child started before the kill");
        }

        await Wait.Bounded(starting!.KillAsync());
        Isolate? created = null;
        try
        {
            created = await Wait.Bounded(creating);
        }
        catch (IsolateClosedException)
        {
            // refused: also sound
        }

        if (created is not null)
        {
            int? pid = created.ProcessId;
            await Wait.Bounded(created.Completion.ContinueWith(_ => { }, TaskScheduler.Default));
            Assert.Multiple(() =>
            {
                Assert.That(created.State, Is.EqualTo(IsolateState.Closed));
                Assert.That(pid is null || OsProcesses.Gone(pid.Value), Is.True, "KillAsync completed: the process has exited");
                Assert.ThrowsAsync<IsolateClosedException>(() => created.CallAsync(ChildWork.Add, 1, 1));
            });
        }

        Assert.That(Isolate.All.Any(i => i.Name == Name), Is.False, "a killed isolate is not listed");
    }

    [Test]
    public async Task CallAsync_WhileTheChildStarts_IsSentOnceItRuns()
    {
        const string Name = "called-while-starting";
        Task<Isolate> creating = Isolate.CreateAsync(Child(Name));
        Isolate? starting = null;
        await Poll.Until(() => (starting = Isolate.All.FirstOrDefault(i => i.Name == Name)) is not null || creating.IsCompleted, "the isolate is listed while it starts");
        if (starting is null || starting.State != IsolateState.Starting)
        {
            await (await creating).CloseAsync();
            Assert.Inconclusive("the child started before the call");
        }

        // Found through Isolate.All before its process runs: the call waits for the start instead of waiting forever
        // in an in-process queue that no thread runs (as it did before the engines were split).
        Task<int> call = starting!.CallAsync(ChildWork.Add, 40, 2);
        Isolate created = await Wait.Bounded(creating);
        try
        {
            Assert.That(await Wait.Bounded(call), Is.EqualTo(42));
        }
        finally
        {
            await Wait.Bounded(created.CloseAsync());
        }
    }

    [Test]
    public async Task CloseAsync_WhileTheChildStarts_ClosesTheChildNotDeclaredStuck()
    {
        const string Name = "closed-while-starting";
        Task<Isolate> creating = Isolate.CreateAsync(Child(Name) with { CloseTimeout = TimeSpan.FromMilliseconds(1) });
        Isolate? starting = null;
        await Poll.Until(() => (starting = Isolate.All.FirstOrDefault(i => i.Name == Name)) is not null || creating.IsCompleted, "the isolate is listed while it starts");
        if (starting is null || starting.State != IsolateState.Starting)
        {
            Assert.Inconclusive("the child started before the close");
        }

        await Wait.Bounded(starting!.CloseAsync());
        Isolate? created = null;
        try
        {
            created = await Wait.Bounded(creating);
        }
        catch (IsolateClosedException)
        {
            // refused: also sound
        }

        int? pid = created?.ProcessId;
        IsolateExit exit = await Wait.Bounded(starting.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.Not.EqualTo(IsolateExitReason.Stuck), "nothing ran in the child: it is not stuck");
            Assert.That(starting.State, Is.EqualTo(IsolateState.Closed));
            Assert.That(pid is null || OsProcesses.Gone(pid.Value), Is.True, "CloseAsync completed: the process has exited");
            Assert.That(Isolate.All.Any(i => i.Name == Name), Is.False);
        });
    }

    [Test]
    public async Task CallAsync_TokenCancelledAfterTheCallsChecksBeforeItIsSent_FunctionDoesNotRun()
    {
        Isolate iso = await Isolate.CreateAsync(Child("cancelled-before-sent"));
        using var cancellation = new CancellationTokenSource();
        bool armed = false;

        // The call's activity starts after the call checked its token and before it is sent: a listener cancelling
        // there opens that window deterministically.
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == IsolateTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = _ =>
            {
                if (Volatile.Read(ref armed))
                {
                    cancellation.Cancel();
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        try
        {
            Task<int> call;
            using (new Activity("caller").Start()) // calls are traced only inside a trace
            {
                Volatile.Write(ref armed, true);
                call = iso.CallAsync(ChildAdversaryWork.CountRun, 1, cancellation.Token);
                Volatile.Write(ref armed, false);
            }

            Assert.CatchAsync<OperationCanceledException>(() => Wait.Bounded(call));

            // Calls run in order on the child's isolate thread: had the cancelled one been run, it ran before this one.
            Assert.That(await Wait.Bounded(iso.CallAsync(ChildAdversaryWork.Runs)), Is.Zero, "a call its caller saw cancelled before it was sent must not run");
        }
        finally
        {
            await Wait.Bounded(iso.CloseAsync());
        }
    }

    [Test]
    public async Task CreateAsync_WarmChildSpare_ChildIsolateTakesTheCreationsName()
    {
        IsolateOptions options = Child(memoryLimit: 99L * 1024 * 1024); // a spare pool of its own
        await Isolate.KeepWarm(1, options);
        Isolate? iso = null;
        try
        {
            await Poll.Until(() => Isolate.WarmCount >= 1, "the spare child is ready");
            iso = await Isolate.CreateAsync(options with { Name = "adopted-name" });
            Assert.That(await Wait.Bounded(iso.CallAsync(ChildAdversaryWork.CurrentName)), Is.EqualTo("adopted-name"), "Isolate.Current.Name in the child is the creation's name");
        }
        finally
        {
            await Isolate.KeepWarm(0, options);
            if (iso is not null)
            {
                await Wait.Bounded(iso.CloseAsync());
            }
        }
    }
}

/// <summary>IsolateOptions.MaxQueuedCalls bounds a child-process isolate's calls in flight (sent and not answered).</summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessQueueBoundTests
{
    [Test]
    public async Task CallAsync_ChildMaxQueuedCallsOne_SecondCallWaitsUnsentAndCancelledOneNeverRuns()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Placement = IsolatePlacement.ChildProcess, MaxQueuedCalls = 1 });
        Task<string> slow = iso.CallAsync(ChildWork.DelayedAsync, "slow", 600);
        using var cts = new CancellationTokenSource();
        Task<int> waiting = iso.CallAsync(ChildWork.Bump, cts.Token);
        Task<int> next = iso.CallAsync(ChildWork.Add, 20, 22);
        await Task.Delay(100);
        Assert.Multiple(() =>
        {
            Assert.That(waiting.IsCompleted, Is.False, "no place: it waits in the host");
            Assert.That(iso.QueueLength, Is.EqualTo(3), "every call not answered yet counts");
        });

        cts.Cancel();
        Assert.ThrowsAsync<TaskCanceledException>(() => Wait.Bounded(waiting));
        Assert.That(await Wait.Bounded(slow), Is.EqualTo("SLOW"));
        Assert.That(await Wait.Bounded(next), Is.EqualTo(42), "admitted when the slow call's place came back");
        Assert.That(await Wait.Bounded(iso.CallAsync(ChildWork.Bump)), Is.EqualTo(1), "the cancelled call never ran in the child");
    }

    [Test]
    public async Task CloseAsync_CallsWaitingForAPlace_FailWithIsolateClosed()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Placement = IsolatePlacement.ChildProcess, MaxQueuedCalls = 1 });
        Task<string> slow = iso.CallAsync(ChildWork.DelayedAsync, "slow", 2_000);
        Task<int>[] waiting = [.. Enumerable.Range(0, 5).Select(i => iso.CallAsync(ChildWork.Add, i, i))];
        await Task.Delay(100);
        await Wait.Bounded(iso.CloseAsync());
        foreach (Task<int> call in waiting)
        {
            Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(call));
        }

        Assert.That(slow.IsCompleted, Is.True, "every call completes");
    }
}

/// <summary>The host's environment and clock at the edges of a child's life.</summary>
[TestFixture]
[CancelAfter(120_000)]
[NonParallelizable]
public class ChildProcessEnvironmentTests
{
    [Test]
    public async Task CreateAsync_HostHasItsOwnStartupHook_ChildRunsAndItsProcessesKeepTheHostsHook()
    {
        string ours = typeof(Isolate).Assembly.Location; // a hook that returns at once outside a child: harmless
        string? before = Environment.GetEnvironmentVariable("DOTNET_STARTUP_HOOKS");
        Environment.SetEnvironmentVariable("DOTNET_STARTUP_HOOKS", ours);
        try
        {
            await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Placement = IsolatePlacement.ChildProcess });
            string seen = await Wait.Bounded(iso.CallAsync(ChildAdversaryWork.EnvironmentOfAStartedProcess, new[] { "DOTNET_STARTUP_HOOKS", "ISOLATES_CHILD_HOOKS" }));
            Assert.That(seen, Is.EqualTo($"DOTNET_STARTUP_HOOKS={ours};ISOLATES_CHILD_HOOKS=;"), "the app's own hook is kept (ours was appended, then removed in the child)");
        }
        finally
        {
            Environment.SetEnvironmentVariable("DOTNET_STARTUP_HOOKS", before);
        }
    }

    [Test]
    public async Task CreateAsync_TempFolderMissing_IsolateClosedExceptionNamingTmpdir()
    {
        string? before = Environment.GetEnvironmentVariable("TMPDIR");
        Environment.SetEnvironmentVariable("TMPDIR", "/nonexistent-isolates-tmp/");
        try
        {
            var error = Assert.ThrowsAsync<IsolateClosedException>(() => Isolate.CreateAsync(new IsolateOptions { Placement = IsolatePlacement.ChildProcess }))!;
            Assert.That(error.Message, Does.Contain("TMPDIR"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("TMPDIR", before);
        }

        await Task.CompletedTask;
    }

    [Test]
    public async Task CloseAsync_ClockCannotCreateTimers_CloseCompletesWithoutFaulting()
    {
        foreach (IsolatePlacement placement in new[] { IsolatePlacement.InProcess, IsolatePlacement.ChildProcess })
        {
            Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Placement = placement, TimeProvider = new NoTimers(), BlockedThreadTimeout = Timeout.InfiniteTimeSpan });
            Task<string> running = iso.CallAsync(ChildWork.DelayedAsync, "x", 100);
            Task close = iso.CloseAsync();
            Assert.DoesNotThrowAsync(() => Wait.Bounded(close), $"{placement}: CloseAsync never faults");
            Assert.That(running.IsCompleted, Is.True);
        }
    }

    private sealed class NoTimers : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            throw new InvalidOperationException("this clock makes no timers");
    }
}
