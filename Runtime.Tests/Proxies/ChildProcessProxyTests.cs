using Isolates.Tests.Support.Proxies;

namespace Isolates.Tests.Proxies;

/// <summary>
/// Objects living in a child-process isolate: creation, calls and release ride CallAsync's path to the child, so they
/// work as in-process; a proxy of this process's objects cannot go into a child.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class ChildProcessProxyTests
{
    private static IsolateOptions Child(string name) => new() { Name = name, Placement = IsolatePlacement.ChildProcess, CloseTimeout = TimeSpan.FromSeconds(5) };

    [Test]
    public async Task CreateObjectAsync_InAChildProcess_CallsErrorsCancellationAndReleaseWork()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-child"));
        IInventory inventory = await Wait.Bounded(child.CreateObjectAsync<IInventory, Inventory, string, int>("fig", 1));

        Assert.That(await Wait.Bounded(inventory.AddAsync("fig", 2)), Is.EqualTo(3));
        Assert.That((await inventory.ShipAsync(new Shipment("fig", 1, []))).Labels, Is.EqualTo(new[] { "fig" }));
        Task<int>[] calls = [.. Enumerable.Range(0, 100).Select(inventory.AppendAsync)];
        await Wait.Bounded(Task.WhenAll(calls));
        Assert.That(await inventory.LogAsync(), Is.EqualTo(Enumerable.Range(0, 100).ToArray()), "in order in the child too");

        IsolateExecutionException ex = Assert.ThrowsAsync<IsolateExecutionException>(() => inventory.ThrowAsync("child"))!;
        Assert.That(ex.RemoteStackTrace, Does.Contain(nameof(Inventory.ThrowAsync)));

        using var cts = new CancellationTokenSource();
        Task waiting = inventory.WaitForCancellationAsync(cts.Token);
        await Tests.Diagnostics.Poll.Until(() => inventory.IsWaitingAsync().Result, "the call to start waiting in the child");
        await cts.CancelAsync();
        Assert.That(async () => await Wait.Bounded(waiting), Throws.InstanceOf<OperationCanceledException>());
        await Tests.Diagnostics.Poll.Until(() => inventory.SawCancellationAsync().Result, "the token to reach the object in the child");

        await Wait.Bounded(Isolate.ReleaseAsync(inventory));
        Assert.That(await child.CallAsync(Inventory.Disposed), Is.EqualTo(1));
        Assert.That(() => inventory.CountAsync("fig").AsTask(), Throws.InstanceOf<IsolateClosedException>().With.Message.Contains("released"));
    }

    [Test]
    public async Task ProxyOfAChildsObject_PassedToAnInProcessIsolate_CallsTheChild()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-child-owner"));
        await using Isolate local = await Isolate.CreateAsync();
        IInventory inventory = await Wait.Bounded(child.CreateObjectAsync<IInventory, Inventory>());

        Passed passed = await Wait.Bounded(local.CallAsync(ProxyFunctions.AddThroughAsync, inventory, 4));

        Assert.That(passed.Count, Is.EqualTo(4));
        Assert.That(await inventory.CountAsync("apple"), Is.EqualTo(4));
    }

    [Test]
    public async Task Proxy_PassedToAChildProcess_IsRefusedNamingTheProxy()
    {
        await using Isolate child = await Isolate.CreateAsync(Child("proxy-refusing-child"));
        await using Isolate local = await Isolate.CreateAsync();
        IInventory inventory = await local.CreateObjectAsync<IInventory, Inventory>();

        Assert.That(async () => await Wait.Bounded(child.CallAsync(ProxyFunctions.Keep, inventory)),
            Throws.InstanceOf<NotShareableException>().With.Message.Contains("proxy").And.Message.Contains("child-process"));
    }
}
