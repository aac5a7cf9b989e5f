using System.Text.Json;
using System.Text.Json.Serialization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using YamlDotNet.Serialization;

namespace Isolates.Compatibility.Workloads;

/// <summary>An order as applications serialize them.</summary>
public sealed record Order(int Id, string Customer, decimal Total, string[] Lines);

/// <summary>A mutable order for libraries that want setters (YamlDotNet, CsvHelper, Mapster).</summary>
public sealed class OrderRow
{
    public int Id { get; set; }
    public string Customer { get; set; } = string.Empty;
    public decimal Total { get; set; }
}

/// <summary>The same order shape, mapped to by Mapster.</summary>
public sealed class OrderDto
{
    public int Id { get; set; }
    public string Customer { get; set; } = string.Empty;
    public decimal Total { get; set; }
}

[JsonSerializable(typeof(List<Order>))]
internal sealed partial class OrderJsonContext : JsonSerializerContext;

/// <summary>Serializers: each writes a few orders and reads them back, and fails unless they compare equal.</summary>
public static class Serialization
{
    private static List<Order> Orders() =>
        [.. Enumerable.Range(1, 20).Select(i => new Order(i, $"customer {i}", i * 1.25m, ["a", "b"]))];

    private static string Check(bool ok, int size) =>
        ok ? $"{size} bytes round-tripped" : throw new InvalidOperationException("the round trip changed the data");

    public static Task<string> SystemTextJsonReflection()
    {
        List<Order> orders = Orders();
        string json = JsonSerializer.Serialize(orders);
        List<Order> back = JsonSerializer.Deserialize<List<Order>>(json)!;
        return Task.FromResult(Check(back.Count == orders.Count && back[^1].Customer == orders[^1].Customer, json.Length));
    }

    public static Task<string> SystemTextJsonSourceGenerated()
    {
        List<Order> orders = Orders();
        string json = JsonSerializer.Serialize(orders, OrderJsonContext.Default.ListOrder);
        List<Order> back = JsonSerializer.Deserialize(json, OrderJsonContext.Default.ListOrder)!;
        return Task.FromResult(Check(back.Count == orders.Count && back[^1].Total == orders[^1].Total, json.Length));
    }

    public static Task<string> NewtonsoftJson()
    {
        List<Order> orders = Orders();
        string json = Newtonsoft.Json.JsonConvert.SerializeObject(orders);
        List<Order> back = Newtonsoft.Json.JsonConvert.DeserializeObject<List<Order>>(json)!;
        return Task.FromResult(Check(back.Count == orders.Count && back[^1].Customer == orders[^1].Customer, json.Length));
    }

    public static Task<string> YamlDotNet()
    {
        var rows = Enumerable.Range(1, 20).Select(i => new OrderRow { Id = i, Customer = $"c{i}", Total = i }).ToList();
        string yaml = new SerializerBuilder().Build().Serialize(rows);
        List<OrderRow> back = new DeserializerBuilder().Build().Deserialize<List<OrderRow>>(yaml);
        return Task.FromResult(Check(back.Count == rows.Count && back[^1].Customer == rows[^1].Customer, yaml.Length));
    }

    public static Task<string> Protobuf()
    {
        var value = new Struct();
        for (int i = 0; i < 20; i++)
        {
            value.Fields[$"k{i}"] = Value.ForString($"v{i}");
        }

        value.Fields["when"] = Value.ForString(Timestamp.FromDateTime(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)).ToString());
        byte[] bytes = value.ToByteArray();
        Struct back = Struct.Parser.ParseFrom(bytes);
        return Task.FromResult(Check(back.Equals(value), bytes.Length));
    }

    public static Task<string> CsvHelper()
    {
        // CsvHelper 34 maps records through a source generator ([CsvRecord]) whose registration would run in every
        // isolate that loads this assembly; the field-level API is what it offers without one.
        using var writer = new StringWriter();
        using (global::CsvHelper.CsvWriter csv = global::CsvHelper.CsvWriter.Create(writer, null, true))
        {
            csv.WriteField("Id");
            csv.WriteField("Customer");
            csv.WriteField("Total");
            csv.EndRecord();
            for (int i = 1; i <= 20; i++)
            {
                csv.WriteField(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                csv.WriteField($"customer, \"{i}\"");
                csv.WriteField((i * 1.5m).ToString(System.Globalization.CultureInfo.InvariantCulture));
                csv.EndRecord();
            }
        }

        string text = writer.ToString();
        using global::CsvHelper.CsvReader reader = global::CsvHelper.CsvReader.FromText(text, null);
        int rows = 0;
        string last = string.Empty;
        while (reader.Read())
        {
            rows++;
            last = reader.GetString("Customer");
        }

        return Task.FromResult(Check(rows == 20 && last == "customer, \"20\"", text.Length));
    }

    public static Task<string> Mapster()
    {
        var rows = Enumerable.Range(1, 20).Select(i => new OrderRow { Id = i, Customer = $"c{i}", Total = i }).ToList();
        List<OrderDto> dtos = global::Mapster.TypeAdapter.Adapt<List<OrderDto>>(rows);
        return Task.FromResult(dtos.Count == rows.Count && dtos[^1].Customer == "c20" ? $"{dtos.Count} mapped" : throw new InvalidOperationException("mapping lost data"));
    }
}
