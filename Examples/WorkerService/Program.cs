// A worker service whose parts run in isolates under the host's supervision:
//   Producer (host)  --"lines"-->  IngestWorker (supervised isolate)  --"orders"-->  Scorer (host) --> pool "scoring"
// The ingest isolate crashes on malformed lines and is restarted (one-for-one, with backoff); the scorer spreads
// the CPU-bound scoring over a pool. After a fixed amount of work the scorer prints a summary with the metrics it
// heard on the "Isolates" meter and stops the host, so `dotnet run` ends by itself.
using System.Diagnostics.Metrics;
using Isolates;
using Isolates.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WorkerService.Workers;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
builder.Services.AddIsolates(o =>
{
    o.AddChannel<string>("lines", capacity: 256);
    o.AddChannel<Order>("orders", capacity: 256);
    o.AddPool("scoring", size: Math.Max(2, Environment.ProcessorCount));
    o.AddIsolate<IngestWorker, IngestChannels>(
        "ingest",
        sp =>
        {
            // Runs at every (re)start: the new isolate gets the same host-owned channels.
            IIsolateHost isolates = sp.GetRequiredService<IIsolateHost>();
            return new IngestChannels(isolates.GetChannel<string>("lines").Reader, isolates.GetChannel<Order>("orders").Writer);
        },
        restart: RestartPolicy.OneForOne(maxRestarts: 5, within: TimeSpan.FromSeconds(30)));
});
builder.Services.AddSingleton<MetricsSummary>();
builder.Services.AddHostedService<Producer>();
builder.Services.AddHostedService<Scorer>();

using IHost host = builder.Build();
await host.RunAsync();
return Environment.ExitCode;

/// <summary>Feeds raw lines, two of them malformed, then completes the channel.</summary>
internal sealed class Producer(IIsolateHost isolates) : BackgroundService
{
    public const int Lines = 2_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var writer = isolates.GetChannel<string>("lines").Writer;
        for (int i = 1; i <= Lines; i++)
        {
            string line = i is 600 or 1400 ? $"garbage line {i}" : $"{i},customer-{i % 37},{10 + (i % 90)}.50,{1 + (i % 4)}";
            await writer.WriteAsync(line, stoppingToken);
        }

        writer.Complete();
    }
}

/// <summary>Reads parsed orders in batches, scores each batch on the pool, and stops the host when the orders end.</summary>
internal sealed class Scorer(IIsolateHost isolates, MetricsSummary metrics, IHostApplicationLifetime lifetime, ILogger<Scorer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IsolatePool pool = isolates.GetPool("scoring");
        var reader = isolates.GetChannel<Order>("orders").Reader;
        var batch = new List<Order>(128);
        int scored = 0;
        double total = 0;
        while (await reader.WaitToReadAsync(stoppingToken))
        {
            while (batch.Count < 128 && reader.TryRead(out Order? order))
            {
                batch.Add(order);
            }

            IReadOnlyList<double> scores = await pool.MapAsync(batch, Scoring.Score, stoppingToken);
            scored += scores.Count;
            total += scores.Sum();
            batch.Clear();
        }

        IsolateStatus ingest = isolates.GetStatus("ingest");
        logger.LogInformation("Scored {Scored} of {Lines} lines on {Size} pool isolates, total score {Total:F1}", scored, Producer.Lines, pool.Size, total);
        Console.WriteLine();
        Console.WriteLine($"ingest: {ingest.State}, restarted {ingest.Restarts} times, last fault: {ingest.LastFault?.Message}");
        Console.WriteLine($"scored: {scored} orders ({Producer.Lines - scored} malformed lines skipped)");
        Console.WriteLine("metrics heard on the 'Isolates' meter:");
        foreach ((string name, double value) in await metrics.SnapshotAsync())
        {
            Console.WriteLine($"  {name} = {value:0.###}");
        }

        lifetime.StopApplication();
    }
}

/// <summary>
/// Sums every counter published on the "Isolates" meter (the same data dotnet-counters or OpenTelemetry would see).
/// Histograms (call durations) are left out: a sum of durations says little.
/// </summary>
internal sealed class MetricsSummary : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, double> _totals = [];

    public MetricsSummary()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IsolateTelemetry.MeterName && instrument is not Histogram<double>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, tags, value));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, tags, value));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, tags, value));
        _listener.Start();
    }

    public async Task<IReadOnlyList<(string Name, double Value)>> SnapshotAsync()
    {
        // Per-isolate CPU time and allocations are read by each isolate's own thread: a collection asks for a fresh
        // sample and reports the previous one, so collect once, give the threads a moment, then collect again.
        _listener.RecordObservableInstruments();
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        _listener.RecordObservableInstruments();
        lock (_totals)
        {
            return [.. _totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => (t.Key, t.Value))];
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags, double value)
    {
        string key = instrument.Name;
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            if (tag.Key is "isolate.name" or "channel.name" or "pool.name")
            {
                key += $"{{{tag.Key}={tag.Value}}}";
            }
        }

        lock (_totals)
        {
            _totals[key] = instrument.IsObservable ? value : _totals.GetValueOrDefault(key) + value;
        }
    }
}
