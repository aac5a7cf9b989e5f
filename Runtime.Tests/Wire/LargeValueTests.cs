using System.Threading.Channels;
using Isolates.Tests.Support;
using Isolates.Wire;

namespace Isolates.Tests.Wire;

/// <summary>
/// A value too large for one payload fails with <see cref="IsolateSerializationException"/> naming the size and the
/// limit, wherever it is encoded, and leaves the isolate usable. The limit is lowered to 1 MiB through the internal
/// knob, so the tests need megabytes, not gigabytes; one test (Stress) runs at the real size.
/// </summary>
[TestFixture]
[NonParallelizable] // lowers a process-wide limit
[CancelAfter(60_000)]
public class LargeValueTests
{
    private const int Limit = 1 << 20;

    private int _savedLimit;

    [SetUp]
    public void LowerLimit()
    {
        _savedLimit = Payload.MaxBytes;
        Payload.MaxBytes = Limit;
    }

    [TearDown]
    public void RestoreLimit() => Payload.MaxBytes = _savedLimit;

    private static void AssertNamesSizeAndLimit(IsolateSerializationException ex) =>
        Assert.That(ex.Message, Does.Contain(Limit.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)).And.Contain("limit"));

    [Test]
    public void Encode_ValueOverTheLimit_FailsWithSerializationExceptionAndTheNextEncodeWorks()
    {
        Codec codec = CodecFactory.Get(typeof(string[]));

        var ex = Assert.Throws<IsolateSerializationException>(() => Payload.Encode(codec, ExactValueWork.Strings(4, 300_000)));

        AssertNamesSizeAndLimit(ex!);
        Assert.That(Payload.Encode(codec, ExactValueWork.Strings(3, 300_000)), Has.Length.GreaterThan(900_000), "just under the limit still fits");
        Assert.That(Payload.Encode(codec, new[] { "x" }), Has.Length.EqualTo(3));
    }

    [Test]
    public void Encode_IllFormedStringOverTheLimit_FailsWithSerializationException()
    {
        string text = new string('a', 600_000) + "\uD800"; // 1.2 MB as UTF-16 code units

        Assert.Throws<IsolateSerializationException>(() => Payload.Encode(CodecFactory.Get(typeof(string[])), new[] { text }));
    }

    [Test]
    public async Task CallAsync_ArgumentOverTheLimit_FailsOnTheCallersSideAndTheIsolateStaysUsable()
    {
        await using Isolate isolate = await Isolate.CreateAsync();

        var ex = Assert.ThrowsAsync<IsolateSerializationException>(() => Wait.Bounded(isolate.CallAsync(ExactValueWork.Count, ExactValueWork.Strings(4, 300_000))));

        AssertNamesSizeAndLimit(ex!);
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.Count, ExactValueWork.Strings(2, 300_000))), Is.EqualTo(2));
    }

    [Test]
    public async Task CallAsync_SharedBufferBesideAnArgumentOverTheLimit_GivesItsReferenceBack()
    {
        await using Isolate isolate = await Isolate.CreateAsync();
        using SharedBuffer buffer = SharedBuffer.Create([1, 2, 3]);

        Assert.ThrowsAsync<IsolateSerializationException>(() => Wait.Bounded(isolate.CallAsync(ExactValueWork.Measure, buffer, ExactValueWork.Strings(4, 300_000))));

        Assert.That(buffer.Holders, Is.EqualTo(1), "the reference added for the handle in flight is released when the encode fails");
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.Measure, buffer, new[] { "a" })), Is.EqualTo(4));
        Assert.That(buffer.Holders, Is.EqualTo(1), "the isolate disposed its handle");
    }

    [Test]
    public async Task CallAsync_ResultOverTheLimit_FailsWithSerializationExceptionNotAsTheFunctionsFault()
    {
        await using Isolate isolate = await Isolate.CreateAsync();

        var ex = Assert.ThrowsAsync<IsolateSerializationException>(() => Wait.Bounded(isolate.CallAsync(ExactValueWork.Strings, 4, 300_000)));

        AssertNamesSizeAndLimit(ex!);
        Assert.That(isolate.State, Is.EqualTo(IsolateState.Running));
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.Add, 1, 2)), Is.EqualTo(3));
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.Strings, 2, 300_000)), Has.Length.EqualTo(2));
    }

    [Test]
    public async Task Channel_ItemOverTheLimit_WriterThrowsAndNothingIsEnqueued()
    {
        Channel<string[]> channel = IsolateChannel.CreateBounded<string[]>(4);

        var ex = Assert.Throws<IsolateSerializationException>(() => channel.Writer.TryWrite(ExactValueWork.Strings(4, 300_000)));
        AssertNamesSizeAndLimit(ex!);
        Assert.ThrowsAsync<IsolateSerializationException>(async () => await channel.Writer.WriteAsync(ExactValueWork.Strings(4, 300_000)));

        Assert.That(channel.Reader.TryRead(out _), Is.False, "nothing was enqueued");
        Assert.That(channel.Writer.TryWrite(["small"]), Is.True);
        Assert.That(channel.Reader.TryRead(out string[]? small) ? small : null, Is.EqualTo(new[] { "small" }));

        await using Isolate isolate = await Isolate.CreateAsync();
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.WriteLarge, channel.Writer, 4, 300_000)), Is.EqualTo(nameof(IsolateSerializationException)));
        Assert.That(channel.Reader.TryRead(out _), Is.False, "nothing was enqueued by the isolate either");
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.WriteLarge, channel.Writer, 1, 10)), Is.EqualTo("written"));
    }

    [Test]
    [Category("Stress")]
    [CancelAfter(120_000)]
    public void Encode_RealSizeValueOverTwoGigabytes_FailsWithSerializationException()
    {
        Payload.MaxBytes = _savedLimit; // the real limit
        string big = new('a', 600_000_000); // one 1.2 GB string, referenced four times: ~2.4 GB of UTF-8

        var ex = Assert.Throws<IsolateSerializationException>(() => Payload.Encode(CodecFactory.Get(typeof(string[])), new[] { big, big, big, big }));

        Assert.That(ex!.Message, Does.Contain(Array.MaxLength.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(Payload.Encode(CodecFactory.Get(typeof(string[])), new[] { "x" }), Has.Length.EqualTo(3));
        GC.KeepAlive(big);
    }
}
