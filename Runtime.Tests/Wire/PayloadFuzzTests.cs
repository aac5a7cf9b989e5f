using Isolates.Tests.Support;
using Isolates.Wire;

namespace Isolates.Tests.Wire;

[TestFixture]
[CancelAfter(60_000)]
public class PayloadFuzzTests
{
    private static readonly Type[] Targets = [typeof(int), typeof(string), typeof(Invoice), typeof(Node), typeof(List<Line>), typeof(Dictionary<string, int>), typeof(Settings), typeof(Guid), typeof(decimal), typeof(DateTimeOffset),
        typeof(Parcel), typeof(Profile), typeof(Pair), typeof(Outer.Inner), // these four through generated codecs
        typeof(string[]), typeof(System.Collections.Immutable.ImmutableArray<int>?), typeof(Labelled)]; // extension types: UTF-16 strings, present defaults

    [Test]
    public void Decode_RandomBytes_FailsOnlyWithSerializationException()
    {
        var random = new Random(20261126);
        var buffer = new byte[64];
        for (int i = 0; i < 20_000; i++)
        {
            int length = random.Next(0, buffer.Length);
            random.NextBytes(buffer.AsSpan(0, length));
            Type target = Targets[i % Targets.Length];
            AssertDecodesOrFailsCleanly(buffer.AsMemory(0, length).ToArray(), target);
        }
    }

    [Test]
    public void Decode_TruncatedAndFlippedValidPayloads_FailOnlyWithSerializationException()
    {
        var invoice = new Invoice(Guid.NewGuid(), DateTimeOffset.UtcNow, [new Line("sku", 2.5m, 4)], new() { ["k"] = 1 }, Color.Red, null, [5], [1, 2]);
        byte[] valid = Payload.Encode(CodecFactory.Get(typeof(Invoice)), invoice);
        var random = new Random(7);

        for (int cut = 0; cut < valid.Length; cut++)
        {
            Assert.Throws<IsolateSerializationException>(() => Payload.Decode(valid.AsMemory(0, cut), CodecFactory.Get(typeof(Invoice))), $"cut at {cut}");
        }

        for (int i = 0; i < 5_000; i++)
        {
            byte[] flipped = (byte[])valid.Clone();
            flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
            AssertDecodesOrFailsCleanly(flipped, typeof(Invoice));
        }
    }

    [Test]
    public void Decode_HugeAnnouncedLength_FailsWithoutAllocating()
    {
        byte[] hostile = [0xdd, 0x7f, 0xff, 0xff, 0xff]; // array32 header announcing 2 billion elements

        Assert.Throws<IsolateSerializationException>(() => Payload.Decode(hostile, CodecFactory.Get(typeof(List<int>))));
    }

    [Test]
    public void Decode_DeeplyNestedPayload_FailsInsteadOfOverflowingTheStack()
    {
        // 10,000 nested one-element arrays: each Node is [value, next].
        var bytes = new List<byte>();
        for (int i = 0; i < 10_000; i++)
        {
            bytes.Add(0x92); // fixarray of 2
            bytes.Add(0x01);
        }

        Assert.Throws<IsolateSerializationException>(() => Payload.Decode(bytes.ToArray(), CodecFactory.Get(typeof(Node))));
    }

    [Test]
    public void Decode_EnumValueOutsideUnderlyingType_FailsInsteadOfTruncating()
    {
        byte[] tooBig = [0xcf, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05]; // uint64 2^33 + 5 for an int-based enum

        Assert.Throws<IsolateSerializationException>(() => Payload.Decode(tooBig, CodecFactory.Get(typeof(Color))));
    }

    private static void AssertDecodesOrFailsCleanly(byte[] bytes, Type target)
    {
        try
        {
            _ = Payload.Decode(bytes, CodecFactory.Get(target));
        }
        catch (IsolateSerializationException)
        {
            // the only acceptable failure
        }
        catch (Exception ex)
        {
            Assert.Fail($"Decoding {Convert.ToHexString(bytes)} as {target.Name} threw {ex.GetType().Name}: {ex.Message}");
        }
    }
}
