using System.Collections.Immutable;
using Isolates.Tests.Support;
using Isolates.Wire;

namespace Isolates.Tests.Wire;

[TestFixture]
public class CodecRoundTripTests
{
    private static T RoundTrip<T>(T value) => (T)Payload.Decode(Payload.Encode(CodecFactory.Get(typeof(T)), value), CodecFactory.Get(typeof(T)))!;

    [Test]
    public void Payload_Scalars_RoundTripExactly()
    {
        var when = new DateTime(2026, 11, 26, 10, 0, 0, DateTimeKind.Utc);
        Assert.Multiple(() =>
        {
            Assert.That(RoundTrip(int.MinValue), Is.EqualTo(int.MinValue));
            Assert.That(RoundTrip(ulong.MaxValue), Is.EqualTo(ulong.MaxValue));
            Assert.That(RoundTrip(3.25f), Is.EqualTo(3.25f));
            Assert.That(RoundTrip(double.NaN), Is.NaN);
            Assert.That(RoundTrip('é'), Is.EqualTo('é'));
            Assert.That(RoundTrip("héllo"), Is.EqualTo("héllo"));
            Assert.That(RoundTrip<string?>(null), Is.Null);
            Assert.That(RoundTrip(79228162514264337593543950335m), Is.EqualTo(79228162514264337593543950335m));
            Assert.That(RoundTrip(-0.0001m), Is.EqualTo(-0.0001m));
            Assert.That(RoundTrip(when).Kind, Is.EqualTo(DateTimeKind.Utc));
            Assert.That(RoundTrip(when), Is.EqualTo(when));
            Assert.That(RoundTrip(new DateTimeOffset(when).ToOffset(TimeSpan.FromHours(5.5))).Offset, Is.EqualTo(TimeSpan.FromHours(5.5)));
            Assert.That(RoundTrip(TimeSpan.FromTicks(123456789)), Is.EqualTo(TimeSpan.FromTicks(123456789)));
            Assert.That(RoundTrip(Guid.Parse("8c7d1f3e-2f0b-4a49-9b4e-0d9c1a2b3c4d")), Is.EqualTo(Guid.Parse("8c7d1f3e-2f0b-4a49-9b4e-0d9c1a2b3c4d")));
            Assert.That(RoundTrip(Color.Blue), Is.EqualTo(Color.Blue));
            Assert.That(RoundTrip<int?>(null), Is.Null);
            Assert.That(RoundTrip<int?>(7), Is.EqualTo(7));
        });
    }

    [Test]
    public void Payload_CollectionsAndRecords_RoundTripAsNewObjects()
    {
        var invoice = new Invoice(
            Guid.NewGuid(),
            DateTimeOffset.UnixEpoch,
            [new Line("a", 1.5m, 2), new Line("b", 3m, 1)],
            new Dictionary<string, int> { ["x"] = 1, ["y"] = 2 },
            Color.Green,
            TimeSpan.FromDays(30),
            [1, 2, 3],
            [9, 8, 7]);

        Invoice copy = RoundTrip(invoice);

        Assert.Multiple(() =>
        {
            Assert.That(copy, Is.Not.SameAs(invoice));
            Assert.That(copy.Id, Is.EqualTo(invoice.Id));
            Assert.That(copy.Lines, Is.EqualTo(invoice.Lines));
            Assert.That(copy.Tags, Is.EquivalentTo(invoice.Tags));
            Assert.That(copy.Codes, Is.EqualTo(invoice.Codes));
            Assert.That(copy.Blob, Is.EqualTo(invoice.Blob));
            Assert.That(copy.Due, Is.EqualTo(invoice.Due));
            Assert.That(copy.Color, Is.EqualTo(Color.Green));
        });
    }

    [Test]
    public void Payload_StringKeyedObjectWithIgnoredMember_SkipsIgnored()
    {
        Settings copy = RoundTrip(new Settings { Name = "n", Level = 3, NotSent = 99 });

        Assert.That((copy.Name, copy.Level, copy.NotSent), Is.EqualTo(("n", 3, 0)));
    }

    [Test]
    public void Payload_RecursiveType_RoundTripsAndCycleIsRefused()
    {
        var chain = new Node { Value = 1, Next = new Node { Value = 2, Next = new Node { Value = 3 } } };
        Node copy = RoundTrip(chain);
        Assert.That(copy.Next!.Next!.Value, Is.EqualTo(3));

        var loop = new Node { Value = 1 };
        loop.Next = loop;
        var error = Assert.Throws<NotShareableException>(() => Payload.Encode(CodecFactory.Get(typeof(Node)), loop));
        Assert.That(error!.Message, Does.Contain("cycle"));
    }

    [Test]
    public void Payload_ImmutableAndInterfaceCollections_RebuildDeclaredShapes()
    {
        Assert.That(RoundTrip(ImmutableList.Create("a", "b")), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(RoundTrip<IReadOnlyList<int>>([1, 2]), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(RoundTrip<IReadOnlyDictionary<string, Point>>(new Dictionary<string, Point> { ["p"] = new(1, 2) })["p"], Is.EqualTo(new Point(1, 2)));
        Assert.That(RoundTrip(new HashSet<int> { 1, 2, 3 }), Is.EquivalentTo(new[] { 1, 2, 3 }));
    }

    [Test]
    public void CodecFactory_PassAsIs_OnlyForImmutableSharedTypes()
    {
        Assert.Multiple(() =>
        {
            Assert.That(CodecFactory.Get(typeof(int)).PassAsIs, Is.True);
            Assert.That(CodecFactory.Get(typeof(string)).PassAsIs, Is.True);
            Assert.That(CodecFactory.Get(typeof(DayOfWeek)).PassAsIs, Is.True, "framework enums are shared");
            Assert.That(CodecFactory.Get(typeof(Color)).PassAsIs, Is.False, "user enums are loaded again in each isolate");
            Assert.That(CodecFactory.Get(typeof(int[])).PassAsIs, Is.False, "arrays are mutable");
            Assert.That(CodecFactory.Get(typeof(Point)).PassAsIs, Is.False);
        });
    }
}
