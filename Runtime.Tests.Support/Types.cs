using System.Collections.Immutable;
using MessagePack;

namespace Isolates.Tests.Support;

public enum Color
{
    Red,
    Green,
    Blue,
}

// Deliberately not shareable: tests check the runtime's refusal of code built without the analyzer, which reports it as ISO005.
#pragma warning disable ISO005
[MessagePackObject]
public sealed class Order
{
    [Key(0)]
    public int Id { get; set; }

    [Key(1)]
    public Stream? Stream { get; set; }
}
#pragma warning restore ISO005

[MessagePackObject]
public sealed record Line([property: Key(0)] string Sku, [property: Key(1)] decimal Price, [property: Key(2)] int Quantity);

[MessagePackObject]
public sealed record Invoice(
    [property: Key(0)] Guid Id,
    [property: Key(1)] DateTimeOffset Issued,
    [property: Key(2)] List<Line> Lines,
    [property: Key(3)] Dictionary<string, int> Tags,
    [property: Key(4)] Color Color,
    [property: Key(5)] TimeSpan? Due,
    [property: Key(6)] ImmutableArray<int> Codes,
    [property: Key(7)] byte[] Blob);

[MessagePackObject(keyAsPropertyName: true)]
public sealed class Settings
{
    public string Name { get; init; } = string.Empty;

    public int Level { get; init; }

    [IgnoreMember]
    public int NotSent { get; init; }
}

[MessagePackObject]
public sealed class Node
{
    [Key(0)]
    public int Value { get; set; }

    [Key(1)]
    public Node? Next { get; set; }
}

[MessagePackObject]
public class Animal
{
    [Key(0)]
    public string Name { get; set; } = string.Empty;
}

[MessagePackObject]
public sealed class Dog : Animal
{
    [Key(1)]
    public int Barks { get; set; }
}

public sealed class Unmarked
{
    public int Value { get; set; }
}

public static class Echo
{
    public static T Same<T>(T value) => value;

    public static Invoice Invoice(Invoice value) => value;

    public static Settings Settings(Settings value) => value;

    public static Node Node(Node value) => value;

    public static string Describe(Animal animal) => animal.Name;

    public static int UseOrder(Order order) => order.Id;

    public static int UseUnmarked(Unmarked value) => value.Value;

    public static int Sum(List<int> values) => values.Sum();

    public static string? NullString(string? value) => value;

    public static DateTime Date(DateTime value) => value;

    public static Color NextColor(Color color) => (Color)(((int)color + 1) % 3);

    public static Point? MaybePoint(bool give) => give ? new Point(1, 2) : null;

    public static int ByRef(ref int value) => value;

    public static InheritedKeyCustomer Keyed(InheritedKeyCustomer value) => value;
}

/// <summary>A base whose [Key] and [IgnoreMember] reach <see cref="InheritedKeyCustomer"/>'s overrides (inherited attributes).</summary>
[MessagePackObject]
public abstract class InheritedKeyEntity
{
    [Key(0)]
    public virtual string Name { get; set; } = string.Empty;

    [IgnoreMember]
    public virtual int Cached { get; set; }
}

[MessagePackObject]
public sealed class InheritedKeyCustomer : InheritedKeyEntity
{
    public override string Name { get; set; } = string.Empty;

    public override int Cached { get; set; }

    [Key(1)]
    public int Level { get; set; }
}
