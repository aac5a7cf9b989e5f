using Isolates.Tests.Support;

namespace Isolates.Tests.Libraries;

/// <summary>
/// The CI subset of docs/compatibility.md (issue 12): real libraries work inside isolates, and the isolate unloads, or
/// leaks for the reason the table gives, so the table cannot silently rot.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class LibrariesInIsolateTests
{
    [Test]
    public async Task CloseAsync_AfterSourceGeneratedJson_Unloads()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "stj-sourcegen" });
        Assert.That(await iso.CallAsync(LibraryWorkMore.JsonSourceGenerated, 20), Is.GreaterThan(0));

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_AfterSerilogLogging_Unloads()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "serilog" });
        Assert.That(await iso.CallAsync(LibraryWorkMore.SerilogEvents, 10), Is.EqualTo(10));

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_AfterNewtonsoftJson_LeaksThroughTypeDescriptor()
    {
        // Newtonsoft asks TypeDescriptor for every type's converter. The unload check now prunes TypeDescriptor's tables of
        // the isolate's types (Unloading/FrameworkCachesTests), yet the context stays alive through a root not found yet
        // (docs/compatibility.md). When this starts to unload, change it to Unloaded and regenerate the table.
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "newtonsoft", UnloadTimeout = TimeSpan.FromSeconds(1) });
        Assert.That(await iso.CallAsync(LibraryWorkMore.NewtonsoftRoundTrip, 5), Is.GreaterThan(0));

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Leaked));
    }

    [Test]
    public async Task CloseAsync_AfterNewtonsoftJsonNotCollectible_WorksAndIsKept()
    {
        // The recommended setting for a library that leaks: a long-lived, non-collectible worker.
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "newtonsoft-kept", Collectible = false });
        Assert.That(await iso.CallAsync(LibraryWorkMore.NewtonsoftRoundTrip, 5), Is.GreaterThan(0));

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.NotCollectible));
    }
}
