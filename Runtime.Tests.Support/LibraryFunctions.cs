using System.Text.Json;

namespace Isolates.Tests.Support;

/// <summary>A plain record serialized by real libraries inside isolates.</summary>
public sealed record JsonInvoice(int Id, string Customer, decimal Total, DateTime Issued, string[] Lines);

/// <summary>Isolate code that uses popular libraries the way applications do.</summary>
public static class LibraryWork
{
    /// <summary>System.Text.Json in reflection mode (default options): serializes invoices and reads them back.</summary>
    public static int JsonRoundTrip(int count)
    {
        var invoices = Enumerable.Range(0, count).Select(i => new JsonInvoice(i, $"customer {i}", i * 1.5m, new DateTime(2026, 1, 1).AddDays(i), ["a", "b"])).ToList();
        string json = JsonSerializer.Serialize(invoices);
        List<JsonInvoice> back = JsonSerializer.Deserialize<List<JsonInvoice>>(json)!;
        return back.Count == count && back[^1] == invoices[^1] with { Lines = back[^1].Lines } ? json.Length : -1;
    }

    /// <summary>The same with new options per call (each options instance caches its own metadata).</summary>
    public static int JsonRoundTripWithOwnOptions(int count)
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };
        var invoices = Enumerable.Range(0, count).Select(i => new JsonInvoice(i, $"c{i}", i, DateTime.UnixEpoch, [])).ToList();
        string json = JsonSerializer.Serialize(invoices, options);
        return JsonSerializer.Deserialize<List<JsonInvoice>>(json, options)!.Count == count ? json.Length : -1;
    }
}
