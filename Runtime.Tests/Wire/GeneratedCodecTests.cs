using System.Collections.Immutable;
using Isolates.Tests.Support;
using Isolates.Wire;

namespace Isolates.Tests.Wire;

/// <summary>
/// The codecs the source generator wrote into Runtime.Tests.Support against the runtime's reflection codec: same
/// bytes, and each decodes what the other encodes.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class GeneratedCodecTests
{
    private static readonly DateTime At = new(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);

    private static Parcel SampleParcel() => new(
        7,
        [new ParcelItem("a", 1.5m, 2), new ParcelItem("b", 3m, 1)],
        new ParcelItem("main", 9.99m, 1),
        null,
        Priority.High,
        ["x", "y"],
        new Dictionary<string, int> { ["k"] = 1 },
        new Coordinates(1.5, -2.5),
        TimeSpan.FromMinutes(3),
        'é',
        At,
        200,
        ulong.MaxValue,
        0.25f,
        true,
        null);

    private static IEnumerable<TestCaseData> Samples()
    {
        yield return new TestCaseData(typeof(Parcel), SampleParcel()).SetName("Parcel: nested, collections, nullable, enum, struct, scalars");
        yield return new TestCaseData(typeof(Parcel), SampleParcel() with { Discount = 5, Main = null, Note = "n", Items = [] }).SetName("Parcel: other nulls");
        yield return new TestCaseData(typeof(Profile), new Profile("ann", 42) { Age = 30, Nickname = "a" }).SetName("Profile: private state and init members");
        yield return new TestCaseData(typeof(Pair), new Pair(3, "b", marker: true)).SetName("Pair: struct with state its constructor does not set");
        yield return new TestCaseData(typeof(Hound), new Hound("rex", 4)).SetName("Hound: derived record");
        yield return new TestCaseData(typeof(Outer.Inner), new Outer.Inner(1, new Outer.Inner(2, null))).SetName("Outer.Inner: nested type, recursive");
        yield return new TestCaseData(typeof(Account), new Account("bob", 10m, 5m)).SetName("Account: private positional state");
        yield return new TestCaseData(typeof(Reading), new Reading("t", 1.5, At, [1, 2])).SetName("Reading: record");
        yield return new TestCaseData(typeof(Coordinates), new Coordinates(3, 4)).SetName("Coordinates: record struct");
    }

    /// <summary>The runtime's reflection codec for a [Shareable] type, built the way CodecFactory builds it without a generated codec.</summary>
    private static Codec ReflectionCodec(Type type)
    {
        var codec = new ObjectCodec(type);
        codec.InitializeShareable((memberType, _) => CodecFactory.Get(memberType));
        return codec;
    }

    [TestCaseSource(nameof(Samples))]
    public void Encode_GeneratedAndReflectionCodecs_WriteIdenticalBytes(Type type, object value)
    {
        Codec generated = CodecFactory.Get(type);
        Codec reflection = ReflectionCodec(type);

        Assert.That(generated.GetType().Name, Does.StartWith("GeneratedCodec"), "the support assembly is built with the generator");
        Assert.That(Payload.Encode(generated, value), Is.EqualTo(Payload.Encode(reflection, value)));
    }

    [TestCaseSource(nameof(Samples))]
    public void Decode_EachCodecReadsTheOthersBytes_ValuesSurviveExactly(Type type, object value)
    {
        Codec generated = CodecFactory.Get(type);
        Codec reflection = ReflectionCodec(type);

        object? viaGenerated = Payload.Decode(Payload.Encode(reflection, value), generated);
        object? viaReflection = Payload.Decode(Payload.Encode(generated, value), reflection);

        // Re-encoding with one codec compares every member, private state included, whatever Equals the type has.
        byte[] expected = Payload.Encode(reflection, value);
        Assert.Multiple(() =>
        {
            Assert.That(viaGenerated, Is.Not.SameAs(value));
            Assert.That(Payload.Encode(reflection, viaGenerated), Is.EqualTo(expected));
            Assert.That(Payload.Encode(reflection, viaReflection), Is.EqualTo(expected));
        });
    }

    [Test]
    public void Decode_ProfileThroughGeneratedCodec_RestoresPrivateAndInitState()
    {
        Codec codec = CodecFactory.Get(typeof(Profile));

        var copy = (Profile)Payload.Decode(Payload.Encode(codec, new Profile("ann", 42) { Age = 30, Nickname = "a" }), codec)!;

        Assert.That((copy.Name, copy.Secret, copy.Age, copy.Nickname), Is.EqualTo(("ann", 42L, 30, "a")));
    }

    [Test]
    public void Decode_ArrayOfWrongLength_ThrowsIsolateSerializationException()
    {
        Codec codec = CodecFactory.Get(typeof(Coordinates));
        byte[] threeMembers = Payload.Encode(CodecFactory.Get(typeof(Account)), new Account("x", 1m, 2m));

        var ex = Assert.Throws<IsolateSerializationException>(() => Payload.Decode(threeMembers, codec));

        Assert.That(ex!.Message, Does.Contain("array of 2 members"));
    }

    [Test]
    public void DecodeOne_TruncatedAndFlippedParcels_FailOnlyWithSerializationException()
    {
        Codec codec = CodecFactory.Get(typeof(Parcel));
        var typed = (GeneratedCodec<Parcel>)codec;
        byte[] valid = Payload.Encode(codec, SampleParcel());
        var random = new Random(20261126);

        for (int cut = 0; cut < valid.Length; cut++)
        {
            Assert.Throws<IsolateSerializationException>(() => Payload.DecodeOne(valid.AsSpan(0, cut), codec, typed, null), $"cut at {cut}");
        }

        for (int i = 0; i < 2_000; i++)
        {
            byte[] flipped = (byte[])valid.Clone();
            flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                _ = Payload.DecodeOne(flipped.AsSpan(), codec, typed, null);
            }
            catch (IsolateSerializationException)
            {
                // the only acceptable failure
            }
        }
    }

    [Test]
    public void Decode_DeeplyNestedGeneratedType_FailsInsteadOfOverflowingTheStack()
    {
        // Outer.Inner is [x, next]: 10,000 levels of [1, [1, [1, ...
        var bytes = new List<byte>();
        for (int i = 0; i < 10_000; i++)
        {
            bytes.Add(0x92);
            bytes.Add(0x01);
        }

        Assert.Throws<IsolateSerializationException>(() => Payload.Decode(bytes.ToArray(), CodecFactory.Get(typeof(Outer.Inner))));
    }

    [Test]
    public void Encode_DerivedValueWhereBaseIsDeclared_ThrowsNotShareable()
    {
        Codec codec = CodecFactory.Get(typeof(Creature));

        Assert.Throws<NotShareableException>(() => Payload.Encode(codec, new Hound("rex", 4)));
    }

    [Test]
    public async Task CallAsync_GeneratedCodecsInIsolate_RoundTripEveryShape()
    {
        await using Isolate iso = await Isolate.CreateAsync();

        Parcel parcel = await iso.CallAsync(GeneratedShapeWork.Bump, SampleParcel());
        Profile profile = await iso.CallAsync(GeneratedShapeWork.Older, new Profile("ann", 41) { Age = 29, Nickname = "a" });
        Hound hound = await iso.CallAsync(GeneratedShapeWork.Walk, new Hound("rex", 4));
        Outer.Inner chain = await iso.CallAsync(GeneratedShapeWork.Chain, new Outer.Inner(2, null));

        Assert.Multiple(() =>
        {
            Assert.That(parcel.Id, Is.EqualTo(8));
            Assert.That(parcel.Items, Is.EqualTo(SampleParcel().Items));
            Assert.That(parcel.Tags, Is.EqualTo(ImmutableArray.Create("x", "y")));
            Assert.That((parcel.Where, parcel.Code, parcel.At, parcel.Big, parcel.Priority), Is.EqualTo((new Coordinates(1.5, -2.5), 'é', At, ulong.MaxValue, Priority.High)));
            Assert.That((profile.Name, profile.Secret, profile.Age, profile.Nickname), Is.EqualTo(("ann", 42L, 30, "a")));
            Assert.That(hound, Is.EqualTo(new Hound("rex", 3)));
            Assert.That((chain.X, chain.Next?.X), Is.EqualTo((20, 2)));
        });
    }
}
