using System.Reflection;
using Isolates.Tests.Support;

namespace Isolates.Tests.Loader;

/// <summary>
/// Reflection from outside over a closed isolate's assemblies (Orleans scans every loaded assembly's attributes when a
/// silo starts) must not fail because the context is unloading.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class UnloadingContextLoadTests
{
    [Test]
    public async Task ResolveDependency_OfAClosedIsolatesAssemblyStillReferenced_FallsBackToTheDefaultContext()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "unloading-load" });
        await iso.CallAsync(Counter.Bump); // loads the support assembly into the isolate, not Serilog
        string supportName = typeof(Counter).Assembly.GetName().Name!;
        Assembly support = iso.InProcess.LoadContext.Assemblies.Single(a => a.GetName().Name == supportName);
        Assert.That(support.IsCollectible, Is.True);

        await iso.CloseAsync(); // the context starts unloading; `support` keeps it from being collected

        // Resolving a type from Serilog (referenced by the support assembly, never loaded in the isolate) goes through
        // the unloading context's Load: it threw FileLoadException ("AssemblyLoadContext is unloading") before, which
        // crashed an Orleans silo's start in a process that had just closed an isolate.
        Type sink = support.GetType("Isolates.Tests.Support.CountingSink", throwOnError: true)!;
        Type[] interfaces = sink.GetInterfaces();

        Assert.That(interfaces.Select(i => i.FullName), Does.Contain("Serilog.Core.ILogEventSink"));
        GC.KeepAlive(support);
    }
}
