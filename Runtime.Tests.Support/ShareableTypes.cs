using System.Runtime.Loader;

namespace Isolates.Tests.Support;

[Shareable]
public sealed record Reading(string Sensor, double Value, DateTime At, IReadOnlyList<int> Tags);

[Shareable]
public readonly record struct Coordinates(double Latitude, double Longitude);

public static class ShareableWork
{
    public static Reading Calibrate(Reading reading) =>
        reading with { Value = reading.Value + 1, Tags = [.. reading.Tags, AssemblyLoadContext.GetLoadContext(reading.GetType().Assembly) == AssemblyLoadContext.Default ? 0 : 1] };

    public static Coordinates Move(Coordinates c) => new(c.Latitude + 1, c.Longitude - 1);

    public static long SumShared(SharedBuffer buffer)
    {
        using (buffer)
        {
            long sum = 0;
            foreach (byte b in buffer.Span)
            {
                sum += b;
            }

            return sum;
        }
    }

    public static int HoldersSeenInside(SharedBuffer buffer) => buffer.Holders;

    public static int Length(ReadOnlyMemory<byte> bytes) => bytes.Length;
}

/// <summary>A [Shareable] type with private state and a computed property: all of its state must arrive.</summary>
[Shareable]
public sealed class Account
{
    private readonly decimal _overdraft;

    public Account(string owner, decimal balance, decimal overdraft)
    {
        Owner = owner;
        Balance = balance;
        _overdraft = overdraft;
    }

    public string Owner { get; }

    public decimal Balance { get; }

    public decimal Available => Balance + _overdraft;
}
