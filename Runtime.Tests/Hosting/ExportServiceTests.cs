using System.Threading.Channels;
using Isolates.Hosting;
using Isolates.Tests.Support;
using Isolates.Tests.Support.Hosting;
using Isolates.Tests.Support.Proxies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting;

/// <summary><see cref="IsolateHostOptions.ExportService{T}"/>: a container's service reaching every isolate the host starts.</summary>
[CancelAfter(60_000)]
public sealed class ExportServiceTests
{
    [Test]
    public async Task ExportService_ToAPool_UsedFromIsolateCode_AlsoByAReplacedIsolate()
    {
        var orders = new Orders();
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
            logs,
            o => o.AddPool("ordering", size: 1).ExportService<IOrders>(),
            services: s => s.AddSingleton<IOrders>(orders));
        using IHost host = started;
        IsolatePool pool = isolates.GetPool("ordering");

        Assert.That(await Wait.Bounded(pool.SubmitAsync(ProxyFunctions.PlaceOrderAsync, "first")), Is.EqualTo(1));
        Assert.CatchAsync<IsolateClosedException>(() => Wait.Bounded(pool.SubmitAsync(PoolWork.CrashOnMinusOneAsync, -1)));
        await TestHost.WaitUntilAsync(() => pool.Replacements == 1, "the pool to replace its faulted isolate");
        Assert.That(await Wait.Bounded(pool.SubmitAsync(ProxyFunctions.PlaceOrderAsync, "after replacement")), Is.EqualTo(2));

        Assert.That(orders.Placed, Is.EqualTo(new[] { "first", "after replacement" }));
        Assert.That(orders.RanInIsolate, Is.False, "an exported service runs in the host");
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task ExportService_ToASupervisedIsolate_UsedByEveryRunAfterRestarts()
    {
        var orders = new Orders();
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
            logs,
            o => o.ExportService<IOrders>()
                .AddChannel<int>("commands", capacity: 4)
                .AddIsolate<OrderingWorker, ChannelReader<int>>("orderer", TestHost.Commands, TestHost.Fast()),
            services: s => s.AddSingleton<IOrders>(orders));
        using IHost host = started;
        await TestHost.WaitUntilAsync(() => orders.Placed.Count == 1, "the worker's first run to place its order");
        long firstId = isolates.GetStatus("orderer").Isolate!.Id;

        await isolates.GetChannel<int>("commands").Writer.WriteAsync(WorkerCommand.Throw);
        await TestHost.WaitUntilAsync(() => orders.Placed.Count == 2, "the restarted worker to place its order");

        IsolateStatus status = isolates.GetStatus("orderer");
        Assert.That(status.Restarts, Is.EqualTo(1));
        Assert.That(orders.Placed, Is.EqualTo(new[] { "worker:" + firstId, "worker:" + status.Isolate!.Id }));
        Assert.That(status.Isolate.Id, Is.Not.EqualTo(firstId), "a restart runs in a fresh isolate, which has the service too");
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public void ExportService_NotAnIsolateInterfaceOrTwice_ThrowsArgumentException()
    {
        var options = new IsolateHostOptions();

        Assert.That(() => options.ExportService<IDisposable>(), Throws.ArgumentException.With.Message.Contains("[IsolateInterface]").And.Message.Contains("IDisposable"));
        Assert.That(() => options.ExportService<Orders>(), Throws.ArgumentException.With.Message.Contains("not an interface marked [IsolateInterface]"));
        options.ExportService<IOrders>();
        Assert.That(() => options.ExportService<IOrders>(), Throws.ArgumentException.With.Message.Contains("already"));
        Assert.That(options.Exports, Is.EqualTo(new[] { typeof(IOrders) }));
    }

    [Test]
    public void StartAsync_ExportedServiceNotRegistered_FailsNamingTheInterfaceAndWhatToAdd()
    {
        var logs = new ListLoggerProvider();

        InvalidOperationException? ex = Assert.ThrowsAsync<InvalidOperationException>(() =>
            TestHost.StartAsync(logs, o => o.AddPool("ordering", size: 1).ExportService<IOrders>()));

        Assert.That(ex!.Message, Does.Contain(typeof(IOrders).FullName).And.Contain("AddSingleton<IOrders"));
        Assert.That(logs.EventIds, Does.Contain(38).And.Not.Contain(39), "start-up fails before any pool starts");
    }

    [Test]
    public async Task StartAsync_PoolWithItsOwnHostServices_KeepsThemAndAddsTheExport()
    {
        var orders = new Orders();
        var own = new IsolateHostServices().Add<IInventory>(new Inventory());
        var logs = new ListLoggerProvider();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
            logs,
            o => o.ExportService<IOrders>().AddPool("both", new IsolatePoolOptions { Size = 1, IsolateOptions = new IsolateOptions { HostServices = own } }),
            services: s => s.AddSingleton<IOrders>(orders));
        using IHost host = started;
        IsolatePool pool = isolates.GetPool("both");

        Assert.That(await Wait.Bounded(pool.SubmitAsync(ProxyFunctions.MissingHostService)), Is.EqualTo("no exception"), "the pool's own IInventory service");
        Assert.That(await Wait.Bounded(pool.SubmitAsync(ProxyFunctions.PlaceOrderAsync, "exported")), Is.EqualTo(1));
        Assert.That(own.ServiceTypes, Is.EqualTo(new[] { typeof(IInventory) }), "the user's IsolateHostServices is not changed (it may serve other isolates)");
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task StartAsync_PoolRegistersTheSameInterfaceWithAnotherObject_FailsNamingThePool()
    {
        var exported = new Orders();
        var logs = new ListLoggerProvider();
        IsolateOptions Own(IOrders orders) => new() { HostServices = new IsolateHostServices().Add<IOrders>(orders) };

        InvalidOperationException? ex = Assert.ThrowsAsync<InvalidOperationException>(() => TestHost.StartAsync(
            logs,
            o => o.ExportService<IOrders>().AddPool("clash", new IsolatePoolOptions { Size = 1, IsolateOptions = Own(new Orders()) }),
            services: s => s.AddSingleton<IOrders>(exported)));
        Assert.That(ex!.Message, Does.Contain("pool 'clash'").And.Contain(typeof(IOrders).FullName).And.Contain("another object"));

        // The same object in both places is no clash.
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
            logs,
            o => o.ExportService<IOrders>().AddPool("same", new IsolatePoolOptions { Size = 1, IsolateOptions = Own(exported) }),
            services: s => s.AddSingleton<IOrders>(exported));
        using IHost host = started;
        Assert.That(await Wait.Bounded(isolates.GetPool("same").SubmitAsync(ProxyFunctions.PlaceOrderAsync, "same")), Is.EqualTo(1));
        await Wait.Bounded(host.StopAsync());
    }

    [Test]
    public async Task StartAsync_ChildProcessPool_ItsIsolatesCallTheExportedServiceInTheHost()
    {
        var logs = new ListLoggerProvider();
        var orders = new Orders();
        (IHost started, IIsolateHost isolates) = await TestHost.StartAsync(
            logs,
            o => o.ExportService<IOrders>()
                .AddPool("sandbox", new IsolatePoolOptions { Size = 2, IsolateOptions = new IsolateOptions { Placement = IsolatePlacement.ChildProcess, CloseTimeout = TimeSpan.FromSeconds(5) } }),
            services: s => s.AddSingleton<IOrders>(orders));
        using IHost host = started;

        int[] placed = await Wait.Bounded(Task.WhenAll(Enumerable.Range(0, 4).Select(i => isolates.GetPool("sandbox").SubmitAsync(ProxyFunctions.PlaceOrderAsync, "child " + i))));

        Assert.That(placed.Order(), Is.EqualTo(new[] { 1, 2, 3, 4 }), "every child's call reached the one service in the host");
        Assert.That(orders.Placed.Order(), Is.EqualTo(new[] { "child 0", "child 1", "child 2", "child 3" }));
        Assert.That(orders.RanInIsolate, Is.False);
        await Wait.Bounded(host.StopAsync());
    }
}
