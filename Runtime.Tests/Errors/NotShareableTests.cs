using Isolates.Tests.Support;

namespace Isolates.Tests.Errors;

[TestFixture]
[CancelAfter(30_000)]
public class NotShareableTests
{
    private Isolate _isolate = null!;

    [OneTimeSetUp]
    public async Task CreateIsolate() => _isolate = await Isolate.CreateAsync(new IsolateOptions { Name = "shareable-checks" });

    [OneTimeTearDown]
    public async Task CloseIsolate() => await _isolate.CloseAsync();

    [Test]
    public async Task CallAsync_ClosureCapturingLocal_FailsBeforeSendingAndNamesTheCapture()
    {
        int before = await _isolate.CallAsync(Counter.Read);
        int factor = 3;

        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync(() => Counter.Bump() * factor));

        Assert.That(error!.Message, Does.Contain("captures state").And.Contain("factor"));
        Assert.That(await _isolate.CallAsync(Counter.Read), Is.EqualTo(before), "nothing ran in the isolate");
    }

    [Test]
    public void CallAsync_ClosureInAScopeWithOtherCaptures_NamesOnlyWhatTheLambdaReads()
    {
        // The closure object also holds 'closed' (read by another lambda) and the compiler's cache fields; the message
        // names only 'factor', which this lambda reads (issue 13: it listed "iso, factor, closed, <>9__10").
        int factor = 3;
        bool closed = false;
        Func<bool> other = () => closed;

        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync((int x) => x * factor, 2))!;

        Assert.That(error.Message, Does.Contain("captures state (factor)"));
        Assert.That(error.Message, Does.Not.Contain("closed").And.Not.Contain("<>"));
        GC.KeepAlive(other);
    }

    [Test]
    public void CallAsync_InstanceMethodDelegate_FailsWithNotShareable()
    {
        var list = new List<int> { 1, 2 };

        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync(list.Contains, 1));

        Assert.That(error!.Message, Does.Contain("instance method bound to an object"));
    }

    [Test]
    public void CallAsync_ArgumentWithStreamMember_NamesTypeAndMemberPath()
    {
        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync(Echo.UseOrder, new Order { Id = 1 }));

        Assert.That(error!.Message, Does.StartWith("Order.Stream: System.IO.Stream is not shareable"));
        Assert.That(error.MemberPath, Is.EqualTo("Order.Stream"));
        Assert.That(error.Type, Is.EqualTo(typeof(Stream)));
    }

    [Test]
    public void CallAsync_ArgumentWithStreamMember_AdvisesOnlyTypesTheRuntimeAccepts()
    {
        // Issue 13: the advice for an abstract type ("declare the concrete shareable type") led to MemoryStream, which
        // was then refused as a resource.
        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync(Echo.UseOrder, new Order { Id = 1 }))!;

        Assert.That(error.Message, Does.Contain("Pass the data it produces instead").And.Contain("byte[], ReadOnlyMemory<byte> or a SharedBuffer"));
        Assert.That(error.Message, Does.Not.Contain("concrete"));
        Assert.Multiple(() =>
        {
            foreach (Type advised in new[] { typeof(byte[]), typeof(ReadOnlyMemory<byte>), typeof(SharedBuffer) })
            {
                Assert.That(Isolates.Wire.CodecFactory.IsShareable(advised, out NotShareableException? reason), Is.True, $"{advised}: {reason?.Message}");
            }

            Assert.That(Isolates.Wire.CodecFactory.IsShareable(typeof(MemoryStream), out NotShareableException? memoryStream), Is.False);
            Assert.That(memoryStream!.Message, Does.Contain("Pass the data it produces instead"), "a concrete stream gets the same advice");
        });
    }

    [Test]
    public void CallAsync_UnmarkedClassArgument_SaysHowToMakeItShareable()
    {
        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync(Echo.UseUnmarked, new Unmarked()));

        Assert.That(error!.Message, Does.Contain("[MessagePackObject]").And.Contain("Unmarked"));
    }

    [Test]
    public void CallAsync_SubclassWhereBaseDeclared_FailsInsteadOfSlicing()
    {
        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync(Echo.Describe, (Animal)new Dog { Name = "rex" }));

        Assert.That(error!.Message, Does.Contain("Dog").And.Contain("Animal"));
    }

    [Test]
    public void CallAsync_ObjectResult_FailsBeforeSending()
    {
        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync(static () => (object)1));

        Assert.That(error!.Message, Does.Contain("System.Object is not shareable"));
    }

    [Test]
    public void CallAsync_NullFunction_ThrowsArgumentNullException()
    {
        Func<int> function = null!;

        Assert.Throws<ArgumentNullException>(() => _isolate.CallAsync(function));
    }

    [Test]
    public void CallAsync_MulticastDelegate_FailsWithNotShareable()
    {
        Action both = (Action)Counter.Bump2 + Counter.Bump2;

        var error = Assert.ThrowsAsync<NotShareableException>(() => _isolate.CallAsync(both));

        Assert.That(error!.Message, Does.Contain("multicast"));
    }
}
