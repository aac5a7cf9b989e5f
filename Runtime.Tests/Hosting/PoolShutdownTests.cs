using Isolates.Hosting;
using Isolates.Tests.Support;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting;

/// <summary>The host accounts for every isolate a pool ever ran in its unload check, replacements included.</summary>
[CancelAfter(60_000)]
public sealed class PoolShutdownTests
{
    [Test]
    public async Task StopAsync_PoolReplacedAnIsolateWhileItsDisposeWaited_EveryIsolateIsCheckedForUnloading()
    {
        // Every isolate of this pool leaks (its initializer subscribes to a process-wide event), so the number of
        // "failed to unload" reports is the number of isolates the host checked: the two it started with and the
        // replacement of the one that faults, three in all.
        // What is checked is how many isolates were checked, not why each leaked: the leak diagnosis (a heap search of up
        // to 10 s per isolate, one at a time) only made the stop take 13 s, and time out on a loaded machine.
        bool was = AppContext.TryGetSwitch("Isolates.Unloading.DisableLeakDiagnosis", out bool disabled) && disabled;
        AppContext.SetSwitch("Isolates.Unloading.DisableLeakDiagnosis", true);
        try
        {
            await StopWithAReplacementAsync();
        }
        finally
        {
            AppContext.SetSwitch("Isolates.Unloading.DisableLeakDiagnosis", was);
        }
    }

    private static async Task StopWithAReplacementAsync()
    {
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(logs, o => o.AddPool("leaky", new IsolatePoolOptions
        {
            Size = 2,
            Initializer = Failing.LeakIntoSharedEvent,
            DisposeTimeout = Wait.Timeout,
            IsolateOptions = new IsolateOptions { UnloadTimeout = TimeSpan.FromMilliseconds(200) },
        }));
        using IHost host = started;
        IsolatePool pool = isolates.GetPool("leaky");
        Task<int> running = pool.SubmitAsync(PoolDisposeWork.Sleep, 1_000); // keeps the pool's dispose waiting
        Task<int> crash = pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1); // faults the other isolate meanwhile

        await Wait.Bounded(host.StopAsync());

        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(crash));
        Assert.That(await Wait.Bounded(running), Is.EqualTo(1_000));
        Assert.That(pool.Replacements, Is.EqualTo(1), "the faulted isolate was replaced while the dispose waited");
        Assert.That(logs.EventIds.Count(id => id == 37), Is.EqualTo(3), "each isolate the pool ran was checked and its leak reported");
        Assert.That(logs.Messages.Single(m => m.StartsWith("Isolates stopped", StringComparison.Ordinal)), Does.Contain("3 isolates failed to unload"));
    }
}
