using System.Collections.Immutable;
using System.Text;
using System.Threading.Channels;
using Isolates.Tests.Support;
using Isolates.Wire;
using MessagePack;

namespace Isolates.Tests.Wire;

/// <summary>
/// Values cross exactly wherever they sit (strings that are not well-formed UTF-16, default immutable arrays,
/// scalars with unusual bits), or fail with a clear <see cref="IsolateSerializationException"/>.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class ExactValueTests
{
    /// <summary>Lone, trailing, reversed and doubled surrogates, and one well-formed pair for contrast.</summary>
    private static readonly string[] Odd = ["a\uD800b", "\uDC00", "end\uD83D", "\uDE00\uD83D", "\uD800\uD800", "pair \uD83D\uDE00 ok", string.Empty];

    private static T RoundTrip<T>(T value) => (T)Payload.Decode(Payload.Encode(CodecFactory.Get(typeof(T)), value), CodecFactory.Get(typeof(T)))!;

    /// <summary>The runtime's reflection codec for a [Shareable] type (as CodecFactory builds it without a generated codec).</summary>
    private static Codec ReflectionCodec(Type type)
    {
        var codec = new ObjectCodec(type);
        codec.InitializeShareable((memberType, _) => CodecFactory.Get(memberType));
        return codec;
    }

    /// <summary>Code unit by code unit: NUnit's string comparison is not guaranteed to be ordinal.</summary>
    private static void AssertSameText(IEnumerable<string> actual, IEnumerable<string> expected) =>
        Assert.That(actual.Select(s => s.Select(c => (int)c).ToArray()), Is.EqualTo(expected.Select(s => s.Select(c => (int)c).ToArray())));

    private static Labelled OddLabelled(ImmutableArray<int> codes = default, ImmutableArray<int>? maybe = null) => new(
        "name\uD800",
        [.. Odd],
        [.. Odd],
        Odd.Where(s => s.Length > 0).ToDictionary(s => s, s => s + "\uDC00"),
        codes,
        maybe,
        '\uDBFF');

    private static void AssertLabelled(Labelled copy, Labelled original)
    {
        AssertSameText([copy.Name], [original.Name]);
        AssertSameText(copy.Tags, original.Tags);
        AssertSameText(copy.Notes, original.Notes);
        AssertSameText(copy.Map.Keys.Order(StringComparer.Ordinal), original.Map.Keys.Order(StringComparer.Ordinal));
        AssertSameText(copy.Map.Keys.Order(StringComparer.Ordinal).Select(k => copy.Map[k]), original.Map.Keys.Order(StringComparer.Ordinal).Select(k => original.Map[k]));
        Assert.That((int)copy.Letter, Is.EqualTo((int)original.Letter));
        Assert.That(copy.Codes.IsDefault, Is.EqualTo(original.Codes.IsDefault), "default(ImmutableArray) stays default");
        if (!original.Codes.IsDefault)
        {
            Assert.That(copy.Codes, Is.EqualTo(original.Codes));
        }

        Assert.That(copy.MaybeCodes.HasValue, Is.EqualTo(original.MaybeCodes.HasValue), "a present T? stays present");
        if (original.MaybeCodes is { } maybe)
        {
            Assert.That(copy.MaybeCodes!.Value.IsDefault, Is.EqualTo(maybe.IsDefault));
        }
    }

    // ---- strings ----

    [Test]
    public void Payload_IllFormedStringsInCollections_RoundTripExactly()
    {
        AssertSameText(RoundTrip(Odd), Odd);
        AssertSameText(RoundTrip(Odd.ToList()), Odd);
        AssertSameText(RoundTrip<IReadOnlyList<string>>(Odd), Odd);
        AssertSameText(RoundTrip(ImmutableArray.Create(Odd)), Odd);
        var map = Odd.ToDictionary(s => s, s => s + "\uD800");
        Dictionary<string, string> copy = RoundTrip(map);
        AssertSameText(copy.Keys.Order(StringComparer.Ordinal), map.Keys.Order(StringComparer.Ordinal));
        AssertSameText(copy.Keys.Order(StringComparer.Ordinal).Select(k => copy[k]), map.Keys.Order(StringComparer.Ordinal).Select(k => map[k]));
        AssertSameText([RoundTrip("\uD800")], ["\uD800"]);
        Assert.That((int)RoundTrip('\uDC00'), Is.EqualTo(0xDC00));
    }

    [Test]
    public void Payload_IllFormedStringsInShareableRecord_BothCodecsRoundTripExactlyAndWriteTheSameBytes()
    {
        Labelled value = OddLabelled([1, 2], default(ImmutableArray<int>));
        Codec generated = CodecFactory.Get(typeof(Labelled));
        Codec reflection = ReflectionCodec(typeof(Labelled));
        Assert.That(generated.GetType().Name, Does.StartWith("GeneratedCodec"));

        byte[] bytes = Payload.Encode(generated, value);
        Assert.That(Payload.Encode(reflection, value), Is.EqualTo(bytes));
        AssertLabelled((Labelled)Payload.Decode(bytes, generated)!, value);
        AssertLabelled((Labelled)Payload.Decode(bytes, reflection)!, value);
    }

    [Test]
    public void Payload_IllFormedStringsInMessagePackObject_RoundTripExactly()
    {
        var value = new KeyedLabel("k\uDFFF", [.. Odd], [.. Odd]);

        KeyedLabel copy = RoundTrip(value);

        AssertSameText([copy.Name], [value.Name]);
        AssertSameText(copy.Tags, Odd);
        AssertSameText(copy.Codes, Odd);
    }

    [TestCase("")]
    [TestCase("héllo, wörld")]
    [TestCase("pair \uD83D\uDE00")]
    [TestCase("31 chars is a fixstr at most...")]
    public void Encode_WellFormedString_WritesMessagePackCSharpsBytes(string text)
    {
        Assert.That(Payload.Encode(CodecFactory.Get(typeof(string)), text), Is.EqualTo(MessagePackSerializer.Serialize(text)));
        Assert.That(Payload.Encode(CodecFactory.Get(typeof(string[])), new[] { text }), Is.EqualTo(MessagePackSerializer.Serialize(new[] { text })));
    }

    [TestCase(10, 'é')] // 20 bytes: room was kept for a str8 header, a fixstr is written
    [TestCase(15, 'é', 1)] // 31 bytes: the largest fixstr
    [TestCase(16, 'é')] // 32 bytes: str8
    [TestCase(85, '\u20AC')] // 255 bytes: the largest str8
    [TestCase(128, 'é')] // 256 bytes: str16
    [TestCase(21_845, '\u20AC')] // 65,535 bytes: the largest str16
    [TestCase(32_768, 'é')] // 65,536 bytes: str32
    [TestCase(65_535, 'a')] // the longest string written in one pass
    [TestCase(65_536, 'a')] // the shortest counted first
    public void Encode_StringAtAHeaderBoundary_WritesMessagePackCSharpsBytes(int length, char fill, int extra = 0)
    {
        string text = new string(fill, length) + new string('a', extra);

        Assert.That(Payload.Encode(CodecFactory.Get(typeof(string[])), new[] { text }), Is.EqualTo(MessagePackSerializer.Serialize(new[] { text })));
        AssertSameText(RoundTrip(new[] { text }), [text]);
    }

    [TestCase(100, true)]
    [TestCase(70_000, true)] // counted first: the count finds the lone surrogate
    [TestCase(70_000, false)]
    public void Payload_LongIllFormedString_RoundTripsExactly(int length, bool atEnd)
    {
        string text = atEnd ? new string('é', length) + "\uD800" : "\uDC00" + new string('a', length);

        AssertSameText(RoundTrip(new[] { text, "ok" }), [text, "ok"]);
    }

    [TestCase(70_000, 'a')]
    [TestCase(70_000, 'é')]
    [TestCase(30_000, '\u20AC')] // 90 KB of UTF-8 from fewer chars than the count-first length
    [TestCase(100_000, '\u20AC')]
    public void Encode_LargeWellFormedString_WritesMessagePackCSharpsBytes(int length, char fill)
    {
        string text = new string(fill, length) + "\uD83D\uDE00";

        byte[] bytes = Payload.Encode(CodecFactory.Get(typeof(string[])), new[] { text });

        Assert.That(bytes, Is.EqualTo(MessagePackSerializer.Serialize(new[] { text })));
        AssertSameText(RoundTrip(new[] { text }), [text]);
    }

    [Test]
    public async Task CallAsync_IllFormedStringsAsArgumentsAndResults_CrossExactly()
    {
        await using Isolate isolate = await Isolate.CreateAsync();

        AssertSameText(await Wait.Bounded(isolate.CallAsync(ExactValueWork.EchoStrings, Odd)), Odd);
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.CodeUnits, Odd)), Is.EqualTo(Odd.SelectMany(s => s.Select(c => (int)c))), "what the isolate itself received");
        AssertSameText(await Wait.Bounded(isolate.CallAsync(ExactValueWork.EchoList, Odd.ToList())), Odd);
        Dictionary<string, string> map = Odd.ToDictionary(s => s, s => "v" + s);
        Dictionary<string, string> mapCopy = await Wait.Bounded(isolate.CallAsync(ExactValueWork.EchoMap, map));
        AssertSameText(mapCopy.Keys.Order(StringComparer.Ordinal).Select(k => k + "|" + mapCopy[k]), map.Keys.Order(StringComparer.Ordinal).Select(k => k + "|" + map[k]));
        Labelled labelled = OddLabelled([3], null);
        AssertLabelled(await Wait.Bounded(isolate.CallAsync(ExactValueWork.EchoLabelled, labelled)), labelled);
        KeyedLabel keyed = await Wait.Bounded(isolate.CallAsync(ExactValueWork.EchoKeyed, new KeyedLabel("\uD800", [.. Odd], [.. Odd])));
        AssertSameText([keyed.Name, .. keyed.Tags, .. keyed.Codes], ["\uD800", .. Odd, .. Odd]);
    }

    [Test]
    public async Task Channel_IllFormedStringsInItems_CrossExactly()
    {
        Channel<string[]> local = IsolateChannel.CreateUnbounded<string[]>();
        Assert.That(local.Writer.TryWrite(Odd), Is.True);
        Assert.That(local.Reader.TryRead(out string[]? read), Is.True);
        AssertSameText(read!, Odd);

        // A string item is handed over as it is: the same object arrives.
        Channel<string> direct = IsolateChannel.CreateBounded<string>(4);
        Assert.That(direct.Writer.TryWrite("\uD800"), Is.True);
        Assert.That(direct.Reader.TryRead(out string? one), Is.True);
        Assert.That(one, Is.SameAs("\uD800"));

        await using Isolate isolate = await Isolate.CreateAsync();
        Channel<string[]> input = IsolateChannel.CreateBounded<string[]>(4);
        Channel<string[]> output = IsolateChannel.CreateBounded<string[]>(4);
        Task<int> echoing = isolate.CallAsync(ExactValueWork.EchoItemsAsync, input.Reader, output.Writer);
        await input.Writer.WriteAsync(Odd);
        input.Writer.Complete();
        AssertSameText(await output.Reader.ReadAsync().AsTask().WaitAsync(Wait.Timeout), Odd);
        Assert.That(await Wait.Bounded(echoing), Is.EqualTo(1));
    }

    [Test]
    public void Decode_CorruptUtf16String_FailsWithSerializationException()
    {
        byte[] valid = Payload.Encode(CodecFactory.Get(typeof(string[])), new[] { "a\uD800" });
        Assert.That(valid[1], Is.EqualTo(0xd6), "ext 4 (fixext4) carries the two code units");

        byte[] oddLength = [0x91, 0xc7, 0x03, (byte)WireExt.Utf16String, 0x61, 0x00, 0x00]; // ext8 of 3 bytes
        byte[] otherType = [0x91, 0xd6, 0x07, 0x61, 0x00, 0x00, 0xd8];
        byte[] truncated = [0x91, 0xc7, 0x08, (byte)WireExt.Utf16String, 0x61, 0x00];
        byte[] badUtf8 = [0x91, 0xa2, 0xc3, 0x28]; // a str whose bytes are not UTF-8

        Assert.Multiple(() =>
        {
            foreach (byte[] corrupt in new[] { oddLength, otherType, truncated, badUtf8 })
            {
                Assert.Throws<IsolateSerializationException>(() => Payload.Decode(corrupt, CodecFactory.Get(typeof(string[]))), Convert.ToHexString(corrupt));
            }

            var random = new Random(11);
            byte[] labelled = Payload.Encode(CodecFactory.Get(typeof(Labelled)), OddLabelled([1], default(ImmutableArray<int>)));
            for (int i = 0; i < 3_000; i++)
            {
                byte[] flipped = (byte[])labelled.Clone();
                flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
                try
                {
                    _ = Payload.Decode(flipped, CodecFactory.Get(typeof(Labelled)));
                }
                catch (IsolateSerializationException)
                {
                    // the only acceptable failure
                }
            }
        });
    }

    [Test]
    public void Decode_RandomExtensionPayloads_FailOnlyWithSerializationException()
    {
        var random = new Random(85);
        Type[] targets = [typeof(string[]), typeof(ImmutableArray<int>?), typeof(List<ImmutableArray<int>?>), typeof(Labelled)];
        for (int i = 0; i < 20_000; i++)
        {
            // An array of one element that starts with an extension header (fixext 1-16 or ext8) of either runtime type.
            var bytes = new byte[random.Next(3, 24)];
            random.NextBytes(bytes);
            bytes[0] = 0x91;
            bytes[1] = (byte)random.Next(0xd4, 0xd9) is var code && random.Next(4) == 0 ? (byte)0xc7 : code;
            bytes[2] = bytes[1] == 0xc7 ? (byte)random.Next(0, 24) : random.Next(2) == 0 ? (byte)WireExt.Utf16String : (byte)WireExt.PresentDefault;
            Type target = targets[i % targets.Length];
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

    // ---- failed encodes ----

    [Test]
    public async Task CallAsync_SharedBufferBesideAnArgumentThatFailsToEncode_GivesItsReferenceBack()
    {
        await using Isolate isolate = await Isolate.CreateAsync();
        using SharedBuffer buffer = SharedBuffer.Create([1, 2, 3]);
        var cycle = new Node { Value = 1 };
        cycle.Next = cycle;

        Assert.ThrowsAsync<NotShareableException>(() => Wait.Bounded(isolate.CallAsync(ExactValueWork.MeasureNode, buffer, cycle)));

        Assert.That(buffer.Holders, Is.EqualTo(1), "the reference added for the handle in flight is released when the encode fails");
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.MeasureNode, buffer, new Node { Value = 1 })), Is.EqualTo(4));
        Assert.That(buffer.Holders, Is.EqualTo(1), "the isolate disposed its handle");
    }

    [Test]
    public void Encode_SharedBufferWhereNoAttachmentCanTravel_GivesItsReferenceBack()
    {
        using SharedBuffer buffer = SharedBuffer.Create([1, 2, 3]);

        Assert.Throws<NotShareableException>(() => Payload.Encode(CodecFactory.Get(typeof(SharedBuffer)), buffer));

        Assert.That(buffer.Holders, Is.EqualTo(1));
    }

    // ---- default(ImmutableArray<T>) ----

    [Test]
    public void Payload_DefaultImmutableArray_CrossesAsDefaultWhereverItSits()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RoundTrip(default(ImmutableArray<int>)).IsDefault, Is.True);
            Assert.That(RoundTrip(ImmutableArray<int>.Empty) is { IsDefault: false, Length: 0 }, Is.True, "empty stays empty");
            Assert.That(RoundTrip<ImmutableArray<int>?>(null), Is.Null);
            Assert.That(RoundTrip<ImmutableArray<int>?>(default(ImmutableArray<int>)) is { IsDefault: true }, Is.True, "a present default stays present");
            Assert.That(RoundTrip<ImmutableArray<int>?>(ImmutableArray<int>.Empty) is { IsDefault: false, Length: 0 }, Is.True);
            Assert.That(RoundTrip(new List<ImmutableArray<int>> { default, ImmutableArray.Create(1) }).Select(a => a.IsDefault), Is.EqualTo(new[] { true, false }));
            Assert.That(RoundTrip(new Dictionary<string, ImmutableArray<string>> { ["d"] = default(ImmutableArray<string>) })["d"].IsDefault, Is.True);
            Assert.That(RoundTrip(new KeyedLabel("k", [], default)).Codes.IsDefault, Is.True);
            Assert.That(RoundTrip<IReadOnlyList<int>>(default(ImmutableArray<int>)), Is.Null, "declared as an interface, its closest form is null");
            Assert.That(RoundTrip<IEnumerable<int>>(default(ImmutableArray<int>)), Is.Null);
        });
    }

    [Test]
    public void Payload_EmptyMemory_ArrivesAsDefaultNotANewArray()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RoundTrip(default(ReadOnlyMemory<byte>)).Equals(default(ReadOnlyMemory<byte>)), Is.True);
            Assert.That(RoundTrip(default(Memory<byte>)).Equals(default(Memory<byte>)), Is.True);
            Assert.That(RoundTrip(new ReadOnlyMemory<byte>([1, 2, 3])).ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
        });
    }

    [Test]
    public async Task Payload_MemoryOfBytes_ArrivesAsMemory()
    {
        Assert.That(RoundTrip(new Memory<byte>([1, 2, 3])).ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));

        await using Isolate isolate = await Isolate.CreateAsync();
        Assert.That((await Wait.Bounded(isolate.CallAsync(ExactValueWork.Reverse, new Memory<byte>([1, 2, 3])))).ToArray(), Is.EqualTo(new byte[] { 3, 2, 1 }));
    }

    [TestCase(typeof(Half))]
    [TestCase(typeof(System.Text.Rune))]
    [TestCase(typeof(System.Numerics.BigInteger))]
    [TestCase(typeof(Int128))]
    [TestCase(typeof(DateOnly))]
    [TestCase(typeof(TimeOnly))]
    [TestCase(typeof(ArraySegment<int>))]
    [TestCase(typeof(ReadOnlyMemory<int>))]
    public void CodecFactory_FrameworkValueNotInTheList_IsRefusedClearly(Type type)
    {
        // Not in docs/shareable.md: refused by name rather than sent through some generic path that could lose bits.
        Assert.That(CodecFactory.IsShareable(type, out NotShareableException? reason), Is.False);
        Assert.That(reason!.Message, Does.Contain(type.Name.Split('`')[0]));
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void Payload_DefaultImmutableArrayInShareableRecord_BothCodecsAgree(bool maybePresent, bool maybeDefault)
    {
        ImmutableArray<int>? maybe = !maybePresent ? null : maybeDefault ? default(ImmutableArray<int>) : [4];
        var value = new Labelled("n", [], [], [], default, maybe, 'x');
        Codec generated = CodecFactory.Get(typeof(Labelled));
        Codec reflection = ReflectionCodec(typeof(Labelled));

        byte[] bytes = Payload.Encode(generated, value);

        Assert.That(Payload.Encode(reflection, value), Is.EqualTo(bytes));
        AssertLabelled((Labelled)Payload.Decode(bytes, generated)!, value);
        AssertLabelled((Labelled)Payload.Decode(bytes, reflection)!, value);
    }

    [Test]
    public async Task CallAsync_DefaultImmutableArray_CrossesAsDefault()
    {
        await using Isolate isolate = await Isolate.CreateAsync();

        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.DescribeCodes, default(ImmutableArray<int>))), Is.EqualTo("default"));
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.DescribeCodes, ImmutableArray<int>.Empty)), Is.EqualTo("0 items"));
        Assert.That((await Wait.Bounded(isolate.CallAsync(ExactValueWork.DefaultCodes))).IsDefault, Is.True);
        Assert.That(await Wait.Bounded(isolate.CallAsync(ExactValueWork.PresentDefaultCodes)) is { IsDefault: true }, Is.True);
        Labelled labelled = OddLabelled(default, default(ImmutableArray<int>));
        AssertLabelled(await Wait.Bounded(isolate.CallAsync(ExactValueWork.EchoLabelled, labelled)), labelled);
    }

    [Test]
    public async Task Channel_DefaultImmutableArrayItem_CrossesAsDefault()
    {
        Channel<ImmutableArray<int>> local = IsolateChannel.CreateUnbounded<ImmutableArray<int>>();
        Assert.That(local.Writer.TryWrite(default), Is.True);
        Assert.That(local.Reader.TryRead(out ImmutableArray<int> read) && read.IsDefault, Is.True);

        await using Isolate isolate = await Isolate.CreateAsync();
        Channel<ImmutableArray<int>> input = IsolateChannel.CreateBounded<ImmutableArray<int>>(4);
        Channel<ImmutableArray<int>> output = IsolateChannel.CreateBounded<ImmutableArray<int>>(4);
        Task<int> echoing = isolate.CallAsync(ExactValueWork.EchoCodesAsync, input.Reader, output.Writer);
        await input.Writer.WriteAsync(default);
        await input.Writer.WriteAsync([]);
        input.Writer.Complete();
        Assert.That((await output.Reader.ReadAsync().AsTask().WaitAsync(Wait.Timeout)).IsDefault, Is.True);
        Assert.That((await output.Reader.ReadAsync().AsTask().WaitAsync(Wait.Timeout)) is { IsDefault: false, Length: 0 }, Is.True);
        Assert.That(await Wait.Bounded(echoing), Is.EqualTo(2));
    }

    // ---- scalars ----

    [Test]
    public async Task Payload_ScalarsWithUnusualBits_CrossExactly()
    {
        var bits = new Bits(
            BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8_0000_0000_1234)), // a negative NaN with a payload
            BitConverter.Int32BitsToSingle(0x7FC0_0042),
            1.000m,
            new DateTime(2026, 3, 29, 1, 30, 0, DateTimeKind.Local),
            new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromMinutes(-(5 * 60) - 45)),
            '\uD800',
            TimeSpan.MinValue);
        var negativeZero = bits with { Double = -0.0, Single = -0.0f, Decimal = -0.00m, When = new DateTime(5, DateTimeKind.Unspecified) };

        await using Isolate isolate = await Isolate.CreateAsync();
        foreach (Bits value in new[] { bits, negativeZero })
        {
            foreach (Bits copy in new[] { RoundTrip(value), (Bits)Payload.Decode(Payload.Encode(ReflectionCodec(typeof(Bits)), value), CodecFactory.Get(typeof(Bits)))!, await Wait.Bounded(isolate.CallAsync(ExactValueWork.EchoBits, value)) })
            {
                Assert.Multiple(() =>
                {
                    Assert.That(BitConverter.DoubleToInt64Bits(copy.Double), Is.EqualTo(BitConverter.DoubleToInt64Bits(value.Double)));
                    Assert.That(BitConverter.SingleToInt32Bits(copy.Single), Is.EqualTo(BitConverter.SingleToInt32Bits(value.Single)));
                    Assert.That(decimal.GetBits(copy.Decimal), Is.EqualTo(decimal.GetBits(value.Decimal)), "scale and sign");
                    Assert.That((copy.When.Ticks, copy.When.Kind), Is.EqualTo((value.When.Ticks, value.When.Kind)));
                    Assert.That((copy.At.Ticks, copy.At.Offset), Is.EqualTo((value.At.Ticks, value.At.Offset)));
                    Assert.That((int)copy.Letter, Is.EqualTo((int)value.Letter));
                    Assert.That(copy.Span, Is.EqualTo(value.Span));
                });
            }
        }
    }
}
