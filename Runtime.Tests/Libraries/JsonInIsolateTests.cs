using Isolates.Tests.Support;

namespace Isolates.Tests.Libraries;

/// <summary>System.Text.Json in reflection mode inside isolates: it works, and the isolate still unloads (issue 12).</summary>
[TestFixture]
[CancelAfter(60_000)]
public class JsonInIsolateTests
{
    [Test]
    public async Task CloseAsync_AfterReflectionJsonWithDefaultOptions_Unloads()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "stj-default" });
        Assert.That(await iso.CallAsync(LibraryWork.JsonRoundTrip, 20), Is.GreaterThan(0));

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_AfterReflectionJsonWithOwnOptions_Unloads()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "stj-options" });
        Assert.That(await iso.CallAsync(LibraryWork.JsonRoundTripWithOwnOptions, 20), Is.GreaterThan(0));

        await Wait.Bounded(iso.CloseAsync());

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }

    [Test]
    public async Task CloseAsync_HostUsesReflectionJsonMeanwhile_HostKeepsWorkingAfterCachesAreCleared()
    {
        string before = System.Text.Json.JsonSerializer.Serialize(new JsonInvoice(1, "host", 2m, DateTime.UnixEpoch, ["x"]));
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "stj-with-host" });
        await iso.CallAsync(LibraryWork.JsonRoundTrip, 5);

        await Wait.Bounded(iso.CloseAsync());

        string after = System.Text.Json.JsonSerializer.Serialize(new JsonInvoice(1, "host", 2m, DateTime.UnixEpoch, ["x"]));
        Assert.That(after, Is.EqualTo(before));
        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), iso.UnloadDiagnostic);
    }
}
