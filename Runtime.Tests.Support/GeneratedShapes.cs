using System.Collections.Immutable;

namespace Isolates.Tests.Support;

// [Shareable] shapes the source generator covers; tests compare their generated codecs with the reflection codec.

public enum Priority
{
    Low,
    High,
}

[Shareable]
public sealed record ParcelItem(string Sku, decimal Price, int Quantity);

/// <summary>Nested [Shareable] members, collections, nullables, enums, a struct and scalar kinds.</summary>
[Shareable]
public sealed record Parcel(
    int Id,
    IReadOnlyList<ParcelItem> Items,
    ParcelItem? Main,
    int? Discount,
    Priority Priority,
    ImmutableArray<string> Tags,
    Dictionary<string, int> Counts,
    Coordinates Where,
    TimeSpan Wait,
    char Code,
    DateTime At,
    byte Small,
    ulong Big,
    float Ratio,
    bool Fragile,
    string? Note);

/// <summary>Private state set by the constructor, init-only members set after it, a computed property.</summary>
[Shareable]
public sealed class Profile
{
    private readonly long _secret;

    public Profile(string name, long secret)
    {
        Name = name;
        _secret = secret;
    }

    public string Name { get; }

    public int Age { get; init; }

    public string? Nickname { get; init; }

    public long Secret => _secret;
}

/// <summary>A struct whose constructor sets only part of its state.</summary>
[Shareable]
public readonly struct Pair
{
    public readonly int A;
    public readonly string B;

    public Pair(int a)
    {
        A = a;
        B = "default";
    }

    public Pair(int a, string b, bool marker)
    {
        A = a;
        B = b + (marker ? "!" : string.Empty);
    }
}

[Shareable]
public record Creature(string Name);

[Shareable]
public sealed record Hound(string Name, int Legs) : Creature(Name);

public static class Outer
{
    [Shareable]
    public sealed record Inner(int X, Inner? Next);
}

public static class GeneratedShapeWork
{
    public static Parcel Bump(Parcel parcel) => parcel with { Id = parcel.Id + 1 };

    public static Profile Older(Profile profile) => new(profile.Name, profile.Secret + 1) { Age = profile.Age + 1, Nickname = profile.Nickname };

    public static Hound Walk(Hound hound) => hound with { Legs = hound.Legs - 1 };

    public static Outer.Inner Chain(Outer.Inner inner) => new(inner.X * 10, inner);
}
