using Isolates.Hosting;
using Isolates.Tests.Support.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Isolates.Tests.Hosting;

[CancelAfter(60_000)]
public sealed class ConfigurationTests
{
    private const string IdleWorkerType = "Isolates.Tests.Support.Hosting.IdleWorker, Isolates.Runtime.Tests.Support";

    [Test]
    public async Task AddIsolates_FromConfiguration_StartsPoolsIsolatesAndChannels()
    {
        var logs = new ListLoggerProvider();
        HostApplicationBuilder builder = TestHost.CreateBuilder(logs);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Isolates:FailureExitCode"] = "4",
            ["Isolates:Pools:scoring:Size"] = "2",
            ["Isolates:Pools:scoring:Collectible"] = "false",
            ["Isolates:Pools:scoring:DisposeTimeout"] = "00:00:05",
            ["Isolates:Isolates:ingest:Type"] = IdleWorkerType,
            ["Isolates:Isolates:ingest:Restart:Strategy"] = "OneForOne",
            ["Isolates:Isolates:ingest:Restart:MaxRestarts"] = "5",
            ["Isolates:Isolates:ingest:Restart:Within"] = "00:00:30",
            ["Isolates:Isolates:ingest:Restart:InitialDelay"] = "00:00:00.050",
            ["Isolates:Isolates:ingest:Restart:MaxDelay"] = "00:00:02",
            ["Isolates:Isolates:ingest:CloseTimeout"] = "00:00:03",
            ["Isolates:Isolates:side:Type"] = IdleWorkerType,
            ["Isolates:Isolates:side:Restart:Strategy"] = "AllForOne",
            ["Isolates:Isolates:side:Restart:Group"] = "g",
            ["Isolates:Isolates:tail:Type"] = IdleWorkerType,
            ["Isolates:Isolates:tail:Restart:Strategy"] = "RestForOne",
            ["Isolates:Isolates:tail:Restart:Group"] = "chain",
            ["Isolates:Channels:jobs:Type"] = "System.Int32",
            ["Isolates:Channels:jobs:Capacity"] = "16",
        });
        builder.Services.AddIsolates(builder.Configuration.GetSection("Isolates"));
        using IHost host = builder.Build();
        await Wait.Bounded(host.StartAsync());
        IIsolateHost isolates = host.Services.GetRequiredService<IIsolateHost>();

        IsolatePool pool = isolates.GetPool("scoring");
        IsolateStatus ingest = isolates.GetStatus("ingest");
        Assert.Multiple(() =>
        {
            Assert.That(pool.Size, Is.EqualTo(2));
            Assert.That(pool.Options.IsolateOptions?.Collectible, Is.False);
            Assert.That(pool.Options.DisposeTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(ingest.State, Is.EqualTo(SupervisedIsolateState.Running));
            Assert.That(ingest.Policy, Is.EqualTo(RestartPolicy.OneForOne(5, TimeSpan.FromSeconds(30)).WithBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2))));
            Assert.That(ingest.Isolate!.Options.CloseTimeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(isolates.GetStatus("side").Policy.Group, Is.EqualTo("g"));
            Assert.That(isolates.GetStatus("tail").Policy, Is.EqualTo(RestartPolicy.RestForOne("chain", 3, TimeSpan.FromSeconds(30))));
            Assert.That(isolates.GetChannel<int>("jobs").Writer.TryWrite(1), Is.True);
            Assert.That(host.Services.GetRequiredService<IsolateHostOptions>().FailureExitCode, Is.EqualTo(4));
        });
        await Wait.Bounded(host.StopAsync());
    }

    [TestCase("Isolates:Isolates:x:Type", "No.Such.Worker, Nowhere", "Isolates:Isolates:x:Type", "was not found")]
    [TestCase("Isolates:Isolates:x:Type", "Isolates.Tests.Support.Hosting.NoEntryPointWorker, Isolates.Runtime.Tests.Support", "Isolates:Isolates:x", "has no usable entry point")]
    [TestCase("Isolates:Pools:p:Sise", "4", "Isolates:Pools:p:Sise", "not a known setting")]
    [TestCase("Isolates:Pools:p:Size", "four", "Isolates:Pools:p:Size", "not a whole number")]
    [TestCase("Isolates:Pools:p:Size", "-1", "Isolates:Pools:p", "must be positive")]
    [TestCase("Isolates:Pools:p:DisposeTimeout", "30s", "Isolates:Pools:p:DisposeTimeout", "not a time span")]
    [TestCase("Isolates:Channels:c:Type", "System.IO.Stream", "Isolates:Channels:c", "not shareable")]
    [TestCase("Isolates:FailureExitCode", "0", "Isolates:FailureExitCode", "must be non-zero")]
    public void AddIsolates_BadConfiguration_ThrowsNamingThePath(string key, string value, string path, string reason)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [key] = value,
            ["Isolates:Isolates:ok:Type"] = IdleWorkerType,
        }).Build();

        Assert.That(
            () => new ServiceCollection().AddIsolates(configuration.GetSection("Isolates")),
            Throws.InvalidOperationException.With.Message.Contains($"'{path}'").And.Message.Contains(reason));
    }

    [Test]
    public void AddIsolates_TypeNameWithoutAssembly_IsFoundInLoadedAssemblies()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Isolates:Isolates:x:Type"] = typeof(IdleWorker).FullName,
        }).Build();
        using ServiceProvider services = new ServiceCollection().AddIsolates(configuration.GetSection("Isolates")).BuildServiceProvider();

        Assert.That(services.GetRequiredService<IIsolateHost>().GetStatus("x").State, Is.EqualTo(SupervisedIsolateState.NotStarted));
    }

    [Test]
    public void AddIsolates_BadRestartStrategy_ListsTheValidOnes()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Isolates:Isolates:x:Type"] = IdleWorkerType,
            ["Isolates:Isolates:x:Restart:Strategy"] = "OneForAll",
        }).Build();

        Assert.That(
            () => new ServiceCollection().AddIsolates(configuration.GetSection("Isolates")),
            Throws.InvalidOperationException.With.Message.Contains("Isolates:Isolates:x:Restart:Strategy").And.Message.Contains("Never, OneForOne, AllForOne, RestForOne"));
    }

    [Test]
    public void AddIsolate_InvalidWorkerTypes_AreRefusedAtRegistration()
    {
        var options = new IsolateHostOptions();

        Assert.Multiple(() =>
        {
            Assert.That(() => options.AddIsolate<WrongEntryPointWorker>("w"), Throws.ArgumentException.With.Message.Contains("its RunAsync is").And.Message.Contains("RunAsync(CancellationToken cancellationToken)"));
            Assert.That(() => options.AddIsolate<NoEntryPointWorker>("n"), Throws.ArgumentException.With.Message.Contains("it has no RunAsync method"));
            Assert.That(() => options.AddIsolate<ScriptedWorker>("s"), Throws.ArgumentException.With.Message.Contains("no public constructor without parameters"));
            Assert.That(() => options.AddIsolate<IdleWorker, System.IO.Stream>("t", _ => System.IO.Stream.Null), Throws.ArgumentException.With.Message.Contains("no public constructor taking one System.IO.Stream"));
            Assert.That(() => options.AddIsolate("a", typeof(IDisposable)), Throws.ArgumentException.With.Message.Contains("must be a public, non-abstract, non-generic class"));
        });
    }

    [TestCase(0)]
    [TestCase(256)]
    [TestCase(-256)]
    public void FailureExitCode_ReadsAsSuccessOnUnix_IsRefused(int code)
    {
        var options = new IsolateHostOptions();

        Assert.That(() => options.FailureExitCode = code, Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("must be non-zero"));
        Assert.That(options.FailureExitCode, Is.EqualTo(1));
    }

    [Test]
    public void AddIsolate_DuplicateNameOrMismatchedGroup_IsRefused()
    {
        var options = new IsolateHostOptions().AddIsolate<IdleWorker>("a", RestartPolicy.AllForOne("g", 3, TimeSpan.FromSeconds(10)));

        Assert.Multiple(() =>
        {
            Assert.That(() => options.AddIsolate<IdleWorker>("a"), Throws.ArgumentException.With.Message.Contains("already configured"));
            Assert.That(() => options.AddIsolate<IdleWorker>("b", RestartPolicy.AllForOne("g", 5, TimeSpan.FromSeconds(10))), Throws.ArgumentException.With.Message.Contains("same policy"));
            Assert.That(() => options.AddIsolate<IdleWorker>("c", RestartPolicy.RestForOne("g", 3, TimeSpan.FromSeconds(10))), Throws.ArgumentException.With.Message.Contains("same policy").And.Message.Contains("RestForOne(g"));
            Assert.That(() => RestartPolicy.RestForOne(" ", 3, TimeSpan.FromSeconds(10)), Throws.ArgumentException);
            Assert.That(() => RestartPolicy.OneForOne(-1, TimeSpan.FromSeconds(1)), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => RestartPolicy.OneForOne(1, TimeSpan.Zero), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => RestartPolicy.Default.WithBackoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)), Throws.TypeOf<ArgumentOutOfRangeException>());
        });
    }
}
