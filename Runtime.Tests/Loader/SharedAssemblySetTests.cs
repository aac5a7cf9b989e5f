using Isolates.Tests.Support;

namespace Isolates.Tests.Loader;

/// <summary>SharedAssemblySet.WithDependencies: share a library together with what it uses (issue 12, part 4).</summary>
[TestFixture]
[CancelAfter(30_000)]
public class SharedAssemblySetTests
{
    private static readonly string Support = typeof(Counter).Assembly.GetName().Name!;

    [Test]
    public void WithDependencies_TestAssembly_IncludesDirectAndTransitiveReferencesButNoFrameworkOrRuntime()
    {
        // Isolates.Runtime.Tests -> Isolates.Runtime.Tests.Support -> Serilog: Serilog is two references away.
        IReadOnlyList<string> names = SharedAssemblySet.WithDependencies("Isolates.Runtime.Tests");

        Assert.Multiple(() =>
        {
            Assert.That(names[0], Is.EqualTo("Isolates.Runtime.Tests"));
            Assert.That(names, Does.Contain(Support).And.Contain("Serilog").And.Contain("Newtonsoft.Json"));
            // Framework assemblies are shared anyway (a package named System.* such as System.CommandLine is not framework).
            Assert.That(names, Has.None.EqualTo("System.Runtime").And.None.EqualTo("System.Private.CoreLib").And.None.EqualTo("System.Text.Json").And.None.EqualTo("netstandard"));
            Assert.That(names, Has.None.EqualTo("Isolates.Runtime").And.None.EqualTo("MessagePack"));
            Assert.That(names, Is.Unique);
        });
    }

    [Test]
    public void WithDependencies_SameNameTwiceInAnyCase_ListsItOnce()
    {
        IReadOnlyList<string> names = SharedAssemblySet.WithDependencies("Serilog", "serilog");

        Assert.That(names, Is.EqualTo(new[] { "Serilog" }));
    }

    [Test]
    public void WithDependencies_InvalidArguments_FailClearly()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => SharedAssemblySet.WithDependencies(null!), Throws.ArgumentNullException);
            Assert.That(() => SharedAssemblySet.WithDependencies(), Throws.ArgumentException.With.Message.Contains("at least one"));
            Assert.That(() => SharedAssemblySet.WithDependencies("Serilog", " "), Throws.ArgumentException.With.Message.Contains("blank"));
            Assert.That(() => SharedAssemblySet.WithDependencies(Support + "s"),
                Throws.ArgumentException.With.Message.Contains($"'{Support}s'").And.Message.Contains($"Did you mean '{Support}'"));
        });
    }

    [Test]
    public async Task CreateAsync_WithDependenciesOfALibrary_IsolateUsesTheHostsCopy()
    {
        await using Isolate shared = await Isolate.CreateAsync(new IsolateOptions { SharedAssemblies = SharedAssemblySet.WithDependencies("Serilog") });
        await using Isolate own = await Isolate.CreateAsync(new IsolateOptions());

        Assert.Multiple(async () =>
        {
            Assert.That(await shared.CallAsync(LibraryWorkMore.SerilogIsShared), Is.True);
            Assert.That(await shared.CallAsync(LibraryWorkMore.SerilogEvents, 3), Is.EqualTo(3));
            Assert.That(await own.CallAsync(LibraryWorkMore.SerilogIsShared), Is.False);
        });
    }
}
