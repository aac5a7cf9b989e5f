using System.Text.Json;
using System.Text.Json.Serialization;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Isolates.Tests.Support;

[JsonSerializable(typeof(List<JsonInvoice>))]
internal sealed partial class InvoiceJsonContext : JsonSerializerContext;

/// <summary>A Serilog sink that counts events, so the tests need no sink package.</summary>
internal sealed class CountingSink : ILogEventSink
{
    public int Count { get; private set; }

    public void Emit(LogEvent logEvent) => Count++;
}

/// <summary>More libraries inside isolates: the CI subset of docs/compatibility.md (issue 12).</summary>
public static class LibraryWorkMore
{
    private static List<JsonInvoice> Invoices(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new JsonInvoice(i, $"customer {i}", i * 1.5m, new DateTime(2026, 1, 1).AddDays(i), ["a"]))];

    /// <summary>System.Text.Json with a source-generated context: no reflection metadata cached anywhere shared.</summary>
    public static int JsonSourceGenerated(int count)
    {
        List<JsonInvoice> invoices = Invoices(count);
        string json = JsonSerializer.Serialize(invoices, InvoiceJsonContext.Default.ListJsonInvoice);
        List<JsonInvoice> back = JsonSerializer.Deserialize(json, InvoiceJsonContext.Default.ListJsonInvoice)!;
        return back.Count == count && back[^1].Customer == invoices[^1].Customer ? json.Length : -1;
    }

    /// <summary>Serilog with a structured template and a destructured object; returns the events the sink saw.</summary>
    public static int SerilogEvents(int count)
    {
        var sink = new CountingSink();
        using (Logger logger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger())
        {
            for (int i = 0; i < count; i++)
            {
                logger.Information("Invoice {Id} for {@Invoice}", i, new JsonInvoice(i, "c", i, DateTime.UnixEpoch, []));
            }
        }

        return sink.Count;
    }

    /// <summary>Newtonsoft.Json round trip (it asks TypeDescriptor for each type's converter).</summary>
    public static int NewtonsoftRoundTrip(int count)
    {
        List<JsonInvoice> invoices = Invoices(count);
        string json = Newtonsoft.Json.JsonConvert.SerializeObject(invoices);
        List<JsonInvoice> back = Newtonsoft.Json.JsonConvert.DeserializeObject<List<JsonInvoice>>(json)!;
        return back.Count == count && back[^1].Customer == invoices[^1].Customer ? json.Length : -1;
    }

    /// <summary>Whether Serilog's assembly is the host's (shared) rather than this isolate's own copy.</summary>
    public static bool SerilogIsShared() => !typeof(Log).Assembly.IsCollectible;
}
