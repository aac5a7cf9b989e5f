namespace Isolates.Tests.Calls;

public static class Counter
{
    private static int s_count;

    public static int Bump() => ++s_count;

    public static int Identity(int x) => x;
}

[TestFixture]
public class SmokeTests
{
    [Test, CancelAfter(10_000)]
    public async Task CallAsync_StaticMethod_RunsWithIsolateStatics()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "smoke" });
        Assert.That(await iso.CallAsync(Counter.Bump), Is.EqualTo(1));
        Assert.That(await iso.CallAsync(Counter.Bump), Is.EqualTo(2));
        Assert.That(await iso.CallAsync(Counter.Identity, 42), Is.EqualTo(42));
        await iso.CloseAsync();
        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded));
    }
}
