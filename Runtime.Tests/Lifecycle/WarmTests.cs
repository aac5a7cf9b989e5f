using Isolates.Tests.Support;

namespace Isolates.Tests.Lifecycle;

[TestFixture]
[CancelAfter(30_000)]
public class WarmTests
{
    [TearDown]
    public async Task StopKeepingSpares() => await Isolate.KeepWarm(0);

    [Test]
    public async Task KeepWarm_CreateAsync_HandsOutASpareThatBehavesLikeANewIsolate()
    {
        await Isolate.KeepWarm(2);
        for (int i = 0; i < 200 && Isolate.WarmCount < 2; i++)
        {
            await Task.Delay(10);
        }

        Assert.That(Isolate.WarmCount, Is.EqualTo(2));
        Assert.That(Isolate.All.Count(i => i.Name.StartsWith("warm-", StringComparison.Ordinal)), Is.Zero, "spares are not listed");

        await using Isolate first = await Isolate.CreateAsync(new IsolateOptions { Name = "warm-a" });
        await using Isolate second = await Isolate.CreateAsync(new IsolateOptions { Name = "warm-b" });

        Assert.That(await first.CallAsync(Counter.Bump), Is.EqualTo(1));
        Assert.That(await first.CallAsync(Counter.Bump), Is.EqualTo(2));
        Assert.That(await second.CallAsync(Counter.Bump), Is.EqualTo(1), "each spare has its own statics");
        Assert.That(await first.CallAsync(Work.CurrentIsolateName), Is.EqualTo("warm-a"));
        Assert.That(Isolate.All, Does.Contain(first).And.Contain(second));
    }

    [Test]
    public async Task KeepWarm_OptionsThatNeedTheirOwnContext_AreBuiltAsUsual()
    {
        await Isolate.KeepWarm(1);
        for (int i = 0; i < 200 && Isolate.WarmCount < 1; i++)
        {
            await Task.Delay(10);
        }

        await using Isolate pinned = await Isolate.CreateAsync(new IsolateOptions { Collectible = false });

        Assert.That(Isolate.WarmCount, Is.EqualTo(1), "a spare is only handed out to a creation with the same context options");
        Assert.That(await pinned.CallAsync(Counter.Bump), Is.EqualTo(1));
    }

    [Test]
    public async Task KeepWarm_Zero_ClosesSparesAndTheyUnload()
    {
        await Isolate.KeepWarm(1);
        for (int i = 0; i < 200 && Isolate.WarmCount < 1; i++)
        {
            await Task.Delay(10);
        }

        await Wait.Bounded(Isolate.KeepWarm(0));

        Assert.That(Isolate.WarmCount, Is.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => Isolate.KeepWarm(-1));
    }
}
