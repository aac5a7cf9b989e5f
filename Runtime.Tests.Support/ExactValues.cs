using System.Collections.Immutable;
using System.Threading.Channels;
using MessagePack;

namespace Isolates.Tests.Support;

// Values that must cross exactly (Wire/ExactValueTests): strings that are not well-formed UTF-16, default struct
// collections, scalars with unusual bits.

/// <summary>Strings and immutable arrays in every position a codec reaches them; crosses through its generated codec.</summary>
[Shareable]
public sealed record Labelled(
    string Name,
    string[] Tags,
    IReadOnlyList<string> Notes,
    Dictionary<string, string> Map,
    ImmutableArray<int> Codes,
    ImmutableArray<int>? MaybeCodes,
    char Letter);

/// <summary>The same through the reflection codec of a <c>[MessagePackObject]</c>.</summary>
[MessagePackObject]
public sealed record KeyedLabel(
    [property: Key(0)] string Name,
    [property: Key(1)] List<string> Tags,
    [property: Key(2)] ImmutableArray<string> Codes);

/// <summary>Scalars whose bits must survive: -0.0, NaN payloads, decimal scale, DateTime kind, offsets.</summary>
[Shareable]
public sealed record Bits(double Double, float Single, decimal Decimal, DateTime When, DateTimeOffset At, char Letter, TimeSpan Span);

public static class ExactValueWork
{
    public static string[] EchoStrings(string[] values) => values;

    public static List<string> EchoList(List<string> values) => values;

    public static Dictionary<string, string> EchoMap(Dictionary<string, string> map) => map;

    public static Labelled EchoLabelled(Labelled value) => value;

    public static KeyedLabel EchoKeyed(KeyedLabel value) => value;

    public static Bits EchoBits(Bits value) => value;

    /// <summary>The code units the isolate received, so a test sees what arrived, not only what came back.</summary>
    public static int[] CodeUnits(string[] values) => [.. values.SelectMany(v => v.Select(c => (int)c))];

    public static ImmutableArray<int> EchoCodes(ImmutableArray<int> codes) => codes;

    public static string DescribeCodes(ImmutableArray<int> codes) => codes.IsDefault ? "default" : $"{codes.Length} items";

    public static ImmutableArray<int> DefaultCodes() => default;

    public static ImmutableArray<int>? PresentDefaultCodes() => default(ImmutableArray<int>);

    /// <summary>A result of <paramref name="count"/> strings of <paramref name="length"/> chars (the same string object each time).</summary>
    public static string[] Strings(int count, int length)
    {
        string one = new('a', length);
        return [.. Enumerable.Repeat(one, count)];
    }

    public static int Count(string[] values) => values.Length;

    public static Memory<byte> Reverse(Memory<byte> bytes)
    {
        bytes.Span.Reverse();
        return bytes;
    }

    public static int Add(int a, int b) => a + b;

    public static int MeasureNode(SharedBuffer buffer, Node node)
    {
        using (buffer)
        {
            return buffer.Length + node.Value;
        }
    }

    public static int Measure(SharedBuffer buffer, string[] values)
    {
        using (buffer)
        {
            return buffer.Length + values.Length;
        }
    }

    public static async Task<int> EchoItemsAsync(ChannelReader<string[]> input, ChannelWriter<string[]> output)
    {
        int seen = 0;
        await foreach (string[] item in input.ReadAllAsync())
        {
            await output.WriteAsync(item);
            seen++;
        }

        output.Complete();
        return seen;
    }

    public static async Task<int> EchoCodesAsync(ChannelReader<ImmutableArray<int>> input, ChannelWriter<ImmutableArray<int>> output)
    {
        int seen = 0;
        await foreach (ImmutableArray<int> item in input.ReadAllAsync())
        {
            await output.WriteAsync(item);
            seen++;
        }

        output.Complete();
        return seen;
    }

    /// <summary>Writes one item of <paramref name="length"/> chars per string into the channel; reports how that went instead of throwing.</summary>
    public static string WriteLarge(ChannelWriter<string[]> output, int count, int length)
    {
        try
        {
            bool written = output.TryWrite(Strings(count, length));
            return written ? "written" : "refused";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }
}
