using Isolates.Hosting;
using Isolates.Tests.Hosting;
using Isolates.Tests.Support;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Processes;

/// <summary>A pool of child processes and supervised child-process workers: the same API as in-process.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessPoolAndHostingTests
{
    private static readonly IsolateOptions Child = new() { Placement = IsolatePlacement.ChildProcess };

    [Test]
    public async Task Pool_ChildProcesses_MapAndSubmitExactInOrder()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, IsolateOptions = Child });
        int[] input = [.. Enumerable.Range(0, 200)];
        IReadOnlyList<int> squares = await Wait.Bounded(pool.MapAsync(input, ChildWork.Add1));
        int[] pids = await Task.WhenAll(pool.Isolates.Select(i => i.CallAsync(ChildWork.ProcessId)));
        Assert.Multiple(async () =>
        {
            Assert.That(squares, Is.EqualTo(input.Select(x => x + 1)));
            Assert.That(await pool.SubmitAsync(ChildWork.Add, 2, 3), Is.EqualTo(5));
            Assert.That(pids.Distinct().Count(), Is.EqualTo(2));
            Assert.That(pids, Has.None.EqualTo(Environment.ProcessId));
        });
    }

    [Test]
    public async Task Pool_ChildProcesses_FailingItemFailsMapWithItsIndex()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, IsolateOptions = Child });
        var error = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(pool.MapAsync(Enumerable.Range(0, 50).ToArray(), ChildWork.FailOn)))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.ItemIndex, Is.EqualTo(13));
            Assert.That(error.RemoteType, Is.EqualTo(typeof(ArgumentException).FullName));
        });
    }

    [Test]
    public async Task Pool_ChildKilledMidMap_MapFailsNamingLostItemsAndPoolReplacesIt()
    {
        await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions { Size = 2, IsolateOptions = Child, ChunkSize = 5 });
        Isolate victim = pool.Isolates[0];
        Task<IReadOnlyList<int>> map = pool.MapAsync(Enumerable.Range(0, 400).ToArray(), ChildWork.SquareSlowly);
        await Task.Delay(300);
        await victim.KillAsync();

        var error = Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(map))!;
        Assert.That(error.Message, Does.Contain("Items").And.Contain("did not complete"));
        await Diagnostics.Poll.Until(() => pool.Isolates.All(i => i.State == IsolateState.Running && i.Id != victim.Id), "the killed child to be replaced", TimeSpan.FromSeconds(30));
        Assert.That(await Wait.Bounded(pool.MapAsync(new[] { 1, 2, 3 }, ChildWork.Add1)), Is.EqualTo(new[] { 2, 3, 4 }));
    }

    [Test]
    public async Task Hosting_ChildProcessWorker_SupervisedRestartedAndStopped()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o =>
        {
            o.AddIsolate<IdleWorker>("idle-child", TestHost.Fast(), Child);
            o.AddIsolate<CrashingWorker>("crashing-child", TestHost.Fast(maxRestarts: 2), Child);
        });
        using IHost host = started;
        Isolate idle = isolates.GetStatus("idle-child").Isolate!;
        Assert.That(idle.ProcessId, Is.Not.Null.And.Not.EqualTo(Environment.ProcessId));
        await TestHost.WaitUntilAsync(() => isolates.GetStatus("crashing-child").Restarts >= 2, "the crashing child to be restarted");

        await Wait.Bounded(host.StopAsync());
        IsolateExit exit = await Wait.Bounded(idle.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(isolates.GetStatus("idle-child").State, Is.EqualTo(SupervisedIsolateState.Stopped));
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Closed));
            Assert.That(exit.ExitCode, Is.EqualTo(0));
        });
    }
}
