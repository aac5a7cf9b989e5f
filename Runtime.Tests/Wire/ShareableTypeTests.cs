using Isolates.Tests.Support;
using Isolates.Wire;

namespace Isolates.Tests.Wire;

[TestFixture]
[CancelAfter(30_000)]
public class ShareableTypeTests
{
    [Test]
    public async Task CallAsync_ShareableRecordAndStruct_RebuiltAsIsolateTypes()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        var reading = new Reading("t1", 20.5, new DateTime(2026, 11, 26, 0, 0, 0, DateTimeKind.Utc), [7]);

        Reading calibrated = await iso.CallAsync(ShareableWork.Calibrate, reading);
        Coordinates moved = await iso.CallAsync(ShareableWork.Move, new Coordinates(10, 20));

        Assert.That(calibrated.Value, Is.EqualTo(21.5));
        Assert.That(calibrated.Tags, Is.EqualTo(new[] { 7, 1 }), "the isolate saw its own Reading type");
        Assert.That(calibrated.Sensor, Is.EqualTo("t1"));
        Assert.That(moved, Is.EqualTo(new Coordinates(11, 19)));
    }

    [Test]
    public void Payload_ShareableWithPrivateStateAndComputedProperty_ArrivesWhole()
    {
        Codec codec = CodecFactory.Get(typeof(Account));

        var copy = (Account)Payload.Decode(Payload.Encode(codec, new Account("ann", 10m, 5m)), codec)!;

        Assert.That((copy.Owner, copy.Balance, copy.Available), Is.EqualTo(("ann", 10m, 15m)), "the private overdraft crossed too");
    }

    [Test]
    public void Payload_ManyRoundTripsPastTheCompileThreshold_ValuesStayExact()
    {
        Codec codec = CodecFactory.Get(typeof(Account));
        Codec coordinates = CodecFactory.Get(typeof(Coordinates));

        for (int i = 0; i < ObjectCodec.CompileThreshold * 2; i++)
        {
            var copy = (Account)Payload.Decode(Payload.Encode(codec, new Account($"o{i}", i, 1m)), codec)!;
            var moved = (Coordinates)Payload.Decode(Payload.Encode(coordinates, new Coordinates(i, -i)), coordinates)!;
            Assert.That((copy.Owner, copy.Balance, copy.Available), Is.EqualTo(($"o{i}", (decimal)i, i + 1m)));
            Assert.That(moved, Is.EqualTo(new Coordinates(i, -i)));
        }
    }

    [Test]
    public void CodecFactory_ShareableTypeWithSettableProperty_IsRefusedAtRunTime()
    {
        var error = Assert.Throws<NotShareableException>(() => CodecFactory.Get(typeof(RuntimeOnlyMutable)));

        Assert.That(error!.Message, Does.Contain("RuntimeOnlyMutable.Value").And.Contain("immutable"));
    }

    [Test]
    public async Task SharedBuffer_PassedToIsolates_IsNotCopiedAndReleasedWithItsLastHolder()
    {
        await using Isolate iso = await Isolate.CreateAsync();
        byte[] data = [.. Enumerable.Range(0, 1_000_000).Select(i => (byte)(i % 251))];
        long expected = data.Sum(b => (long)b);
        SharedBuffer buffer = SharedBuffer.Adopt(data);

        long sum = await iso.CallAsync(ShareableWork.SumShared, buffer); // the isolate disposes its handle
        int holdersInside = await iso.CallAsync(ShareableWork.HoldersSeenInside, buffer); // this one it does not

        Assert.That(sum, Is.EqualTo(expected));
        Assert.That(holdersInside, Is.EqualTo(2), "the creator's handle and the isolate's own");
        Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(buffer.Memory, out ArraySegment<byte> segment) && segment.Array == data, Is.True, "no copy was made");
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = buffer.Memory);
    }

    [Test]
    public void SharedBuffer_LastHandleDisposed_BlockIsReleased()
    {
        SharedBuffer buffer = SharedBuffer.Create([1, 2, 3]);
        Assert.That(buffer.Holders, Is.EqualTo(1));

        buffer.Dispose();
        buffer.Dispose(); // idempotent

        Assert.That(buffer.Holders, Is.Zero);
        Assert.Throws<ObjectDisposedException>(() => _ = buffer.Span.Length);
    }

    [Test]
    public async Task CallAsync_ReadOnlyMemoryOfBytes_IsCopied()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Assert.That(await iso.CallAsync(ShareableWork.Length, new ReadOnlyMemory<byte>([1, 2, 3, 4])), Is.EqualTo(4));
    }

#pragma warning disable ISO001 // deliberately mutable: this tests the runtime's own check, for code built without the analyzer
    [Shareable]
    private sealed class RuntimeOnlyMutable
    {
        public int Value { get; set; }
    }
#pragma warning restore ISO001
}
