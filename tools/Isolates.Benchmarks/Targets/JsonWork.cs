using System.Text.Json;

namespace Isolates.Benchmarks.Targets;

/// <summary>A plain record, serialized with System.Text.Json in reflection mode (no source-generated context).</summary>
public sealed record JsonOrder(int Id, string Customer, double Total, DateTime Placed, string[] Lines);

/// <summary>
/// A real workload for first calls: what an application's first request often does, serialize a list of records and
/// read it back, with the library's default (reflection-based) options.
/// </summary>
public static class JsonWork
{
    public static int RoundTrip()
    {
        var orders = new List<JsonOrder>(50);
        for (int i = 0; i < 50; i++)
        {
            orders.Add(new JsonOrder(i, "customer " + i, i * 1.25, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddHours(i), ["a", "b", "c"]));
        }

        string json = JsonSerializer.Serialize(orders);
        List<JsonOrder> back = JsonSerializer.Deserialize<List<JsonOrder>>(json)!;
        return back.Count == orders.Count && back[^1].Id == orders[^1].Id && back[^1].Customer == orders[^1].Customer ? back.Count : -1;
    }
}
