using System.Runtime.Loader;
using Isolates.Tests.Support;

namespace Isolates.Tests.Calls;

[TestFixture]
[CancelAfter(30_000)]
public class CallAsyncTests
{
    [Test]
    public async Task CallAsync_StaticMethodGroup_UsesIsolateOwnStatics()
    {
        int hostBefore = Counter.Read();
        await using Isolate first = await Isolate.CreateAsync(new IsolateOptions { Name = "first" });
        await using Isolate second = await Isolate.CreateAsync(new IsolateOptions { Name = "second" });

        Assert.That(await first.CallAsync(Counter.Bump), Is.EqualTo(1));
        Assert.That(await first.CallAsync(Counter.Bump), Is.EqualTo(2));
        Assert.That(await first.CallAsync(Counter.Bump), Is.EqualTo(3));
        Assert.That(await second.CallAsync(Counter.Bump), Is.EqualTo(1));
        Assert.That(Counter.Read(), Is.EqualTo(hostBefore), "the host's static must be untouched");
    }

    [Test]
    public async Task CallAsync_RecordArgumentAndResult_RebuiltAsEachSidesOwnType()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Point scaled = await iso.CallAsync(Geometry.Scale, new Point(1, 2), 3);
        bool ownType = await iso.CallAsync(Geometry.IsOwnType, new Point(0, 0));

        Assert.Multiple(() =>
        {
            Assert.That(scaled, Is.EqualTo(new Point(3, 6)));
            Assert.That(scaled.GetType(), Is.SameAs(typeof(Point)), "the result is the caller's own type");
            Assert.That(ownType, Is.True, "inside the isolate the argument is the isolate's own Point");
        });
    }

    [Test]
    public async Task CallAsync_AsyncFunction_ReturnsResultAndResumesOnIsolateThread()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        long sum = await iso.CallAsync(Work.SumAsync, 1_000);
        int isolateThread = await iso.CallAsync(Work.ThreadId);
        int[] threads = await iso.CallAsync(Work.ThreadsAcrossAwaitsAsync);

        Assert.Multiple(() =>
        {
            Assert.That(sum, Is.EqualTo(500_500));
            Assert.That(threads, Is.All.EqualTo(isolateThread), "every continuation runs on the isolate's thread");
            Assert.That(isolateThread, Is.Not.EqualTo(Environment.CurrentManagedThreadId));
        });
    }

    [Test]
    public async Task CallAsync_ActionAndTaskShapes_CompleteAfterTheFunctionRan()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        await iso.CallAsync(Counter.Add, 5);
        await iso.CallAsync(Work.TouchAsync);
        int value = await iso.CallAsync(Work.DoubleLaterAsync, 21);

        Assert.That(await iso.CallAsync(Counter.Read), Is.EqualTo(6));
        Assert.That(value, Is.EqualTo(42));
    }

    [Test]
    public async Task CallAsync_UserEnumsAndNullables_RebuiltAsIsolateTypes()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Assert.That(await iso.CallAsync(Echo.NextColor, Color.Blue), Is.EqualTo(Color.Red));
        Assert.That(await iso.CallAsync(Echo.MaybePoint, true), Is.EqualTo(new Point(1, 2)));
        Assert.That(await iso.CallAsync(Echo.MaybePoint, false), Is.Null);
        Assert.That(await iso.CallAsync(Echo.NullString, (string?)null), Is.Null);
        Assert.That(await iso.CallAsync(Echo.Sum, new List<int> { 1, 2, 3 }), Is.EqualTo(6));
        Assert.That(await iso.CallAsync(Echo.Date, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Local)), Is.EqualTo(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Local)));
        Assert.That((await iso.CallAsync(Echo.Settings, new Settings { Name = "s", Level = 2 })).Level, Is.EqualTo(2));
    }

    [Test]
    public async Task CallAsync_OverrideInheritsKeyAndIgnoreMember_CrossesWithTheBasesKeys()
    {
        // The runtime half of Analyze_MessagePackObjectOverrideInheritsKeyOrIgnoreMember_ReportsNothing: the type the
        // analyzer refused (it broke this assembly's build) is accepted and crosses.
        await using Isolate iso = await Isolate.CreateAsync();

        InheritedKeyCustomer back = await Wait.Bounded(iso.CallAsync(Echo.Keyed, new InheritedKeyCustomer { Name = "ada", Cached = 9, Level = 3 }));

        Assert.That((back.Name, back.Level, back.Cached), Is.EqualTo(("ada", 3, 0)), "Name and Level crossed; Cached is ignored");
    }

    [Test]
    public async Task CallAsync_AsyncLambdas_CompileAndRunWithoutExplicitTypes()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        int value = await iso.CallAsync(static async () =>
        {
            await Task.Yield();
            return Counter.Bump();
        });
        await iso.CallAsync(static async () =>
        {
            await Task.Yield();
            Counter.Bump();
        });

        Assert.That(value, Is.EqualTo(1));
        Assert.That(await iso.CallAsync(Counter.Read), Is.EqualTo(2));
    }

    [Test]
    public async Task CallAsync_FourArguments_AllArriveInOrder()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        string text = await iso.CallAsync(Work.Concat, "a", 2, 3.5, true);

        Assert.That(text, Is.EqualTo($"a|2|{3.5}|True"));
    }

    [Test]
    public async Task CallAsync_LambdaCapturingNothing_IsAccepted()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        int fromStatic = await iso.CallAsync(static () => Counter.Bump() + 100);
        int fromPlain = await iso.CallAsync(() => Counter.Bump() + 100);
        int withArgument = await iso.CallAsync(static (int x) => x * Counter.Bump(), 10);

        Assert.That(new[] { fromStatic, fromPlain, withArgument }, Is.EqualTo(new[] { 101, 102, 30 }));
    }

    [Test]
    public async Task CallAsync_MutableArrayArgument_IsCopiedNotShared()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        int[] values = [1, 2, 3];

        int[] returned = await iso.CallAsync(Work.Mutate, values);

        Assert.That(values, Is.EqualTo(new[] { 1, 2, 3 }), "the caller's array is untouched");
        Assert.That(returned, Is.EqualTo(new[] { -1, 2, 3 }));
        Assert.That(returned, Is.Not.SameAs(values));
    }

    [Test]
    public async Task CallAsync_FromManyThreadsAtOnce_RunsOneAtATimeWithoutLosingUpdates()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        const int Callers = 8;
        const int CallsEach = 500;

        await Wait.Bounded(Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < CallsEach; i++)
            {
                await iso.CallAsync(Counter.Bump);
            }
        }))));

        Assert.That(await iso.CallAsync(Counter.Read), Is.EqualTo(Callers * CallsEach));
    }

    [Test]
    public async Task CallAsync_InsideIsolate_CreatesNestedIsolateWithItsOwnStatics()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        int result = await Wait.Bounded(iso.CallAsync(Work.BumpInNestedIsolateAsync));
        await iso.CloseAsync();

        Assert.That(result, Is.EqualTo(102), "nested isolate counted 1, the outer isolate 2");
        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Unloaded), "a child created and closed inside must not pin its parent");
    }

    [Test]
    public async Task Current_InHostAndInIsolate_IsNullThenTheIsolate()
    {
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = "who-am-i" });

        Assert.That(Isolate.Current, Is.Null);
        Assert.That(await iso.CallAsync(Work.CurrentIsolateName), Is.EqualTo("who-am-i"));
        Assert.That(await iso.CallAsync(Work.HasIsolateSynchronizationContext), Is.True);
    }

    [Test]
    public async Task All_AfterCreateAndClose_ListsOnlyLiveIsolates()
    {
        Isolate iso = await Isolate.CreateAsync();
        Assert.That(Isolate.All, Does.Contain(iso));

        await iso.CloseAsync();

        Assert.That(Isolate.All, Does.Not.Contain(iso));
        Assert.That(iso.State, Is.EqualTo(IsolateState.Closed));
    }

    [Test]
    public async Task CallAsync_TypeGetTypeInsideIsolate_FindsIsolateCopy()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Assert.That(await iso.CallAsync(Work.TypeGetTypeFindsOwnCopy), Is.True);
    }

    [Test]
    public async Task CallAsync_SharedAssemblyOption_SharesStaticsWithHost()
    {
        string testAssembly = typeof(Counter).Assembly.GetName().Name!;
        await using Isolate iso = await Isolate.CreateAsync(new IsolateOptions { SharedAssemblies = [testAssembly] });
        int before = Counter.Read();

        await iso.CallAsync(Counter.Add, 7);

        Assert.That(Counter.Read(), Is.EqualTo(before + 7), "a shared assembly has one set of statics");
        Counter.Add(-7);
    }

    [Test]
    public async Task CallAsync_NonCollectibleIsolate_WorksAndReportsNotCollectible()
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Collectible = false });

        Assert.That(await iso.CallAsync(Counter.Bump), Is.EqualTo(1));
        await iso.CloseAsync();

        Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.NotCollectible));
    }

    [Test]
    public async Task CallAsync_FrameworkMethod_RunsInIsolate()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Assert.That(await iso.CallAsync(Math.Abs, -5), Is.EqualTo(5));
        Assert.That(await iso.CallAsync(AssemblyLoadContextName), Is.Not.EqualTo("Default"));
    }

    private static string? AssemblyLoadContextName() => AssemblyLoadContext.GetLoadContext(typeof(CallAsyncTests).Assembly)?.Name;
}
