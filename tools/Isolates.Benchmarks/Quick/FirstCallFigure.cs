using System.Diagnostics;
using Isolates.Benchmarks.Floors;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// First call in a fresh isolate: only the call is timed; the isolate was created (untimed) just before. This is
/// where per-isolate work shows: mapping the method into the isolate's copy of the assembly, building its codecs,
/// and JIT-compiling the isolate's code at full optimization (collectible code gets no ReadyToRun and no tiering).
/// </summary>
internal static class FirstCallFigure
{
    public static async Task<IReadOnlyList<Row>> MeasureAsync(int count, ICollection<string> notes)
    {
        int leaked = 0, floorLeaked = 0;
        Samples record = Samples.Milliseconds(count), floorRecord = Samples.Milliseconds(count);
        Samples scalar = Samples.Milliseconds(count), floorScalar = Samples.Milliseconds(count);
        Samples shareable = Samples.Milliseconds(count);
        var tick = new Tick(1, 0.5, 2);
        int warmup = Math.Max(3, count / 10);
        var point = new Point(3, 4);

        for (int i = -warmup; i < count; i++)
        {
            Isolate forRecord = await Isolate.CreateAsync();
            Isolate forScalar = await Isolate.CreateAsync();
            Isolate forShareable = await Isolate.CreateAsync();
            BareIsolate bareForRecord = await StartedBareAsync();
            BareIsolate bareForScalar = await StartedBareAsync();

            long start = Stopwatch.GetTimestamp();
            Point scaled = await forRecord.CallAsync(Workload.Scale, point, 2);
            long recordDone = Stopwatch.GetTimestamp();
            int echoed = await forScalar.CallAsync(Workload.Identity, 7);
            long scalarDone = Stopwatch.GetTimestamp();
            Point floorScaled = await bareForRecord.RunAsync(assembly => Reflective.Scale(assembly, point, 2));
            long floorRecordDone = Stopwatch.GetTimestamp();
            int floorEchoed = await bareForScalar.RunAsync(assembly => Reflective.Identity(assembly, 7));
            long floorScalarDone = Stopwatch.GetTimestamp();
            Tick next = await forShareable.CallAsync(Streaming.NextTick, tick); // a [Shareable] record: generated codec
            long shareableDone = Stopwatch.GetTimestamp();

            Check.Equal(new Point(6, 8), scaled);
            Check.Equal(new Point(6, 8), floorScaled);
            Check.Equal(7, echoed);
            Check.Equal(7, floorEchoed);
            Check.Equal(tick with { Id = 2 }, next);
            if (i >= 0)
            {
                record.Add(start, recordDone);
                scalar.Add(recordDone, scalarDone);
                floorRecord.Add(scalarDone, floorRecordDone);
                floorScalar.Add(floorRecordDone, floorScalarDone);
                shareable.Add(floorScalarDone, shareableDone);
            }

            await Task.WhenAll(forRecord.CloseAsync(), forScalar.CloseAsync(), forShareable.CloseAsync());
            leaked += (forRecord.UnloadStatus == UnloadStatus.Unloaded ? 0 : 1) + (forScalar.UnloadStatus == UnloadStatus.Unloaded ? 0 : 1)
                + (forShareable.UnloadStatus == UnloadStatus.Unloaded ? 0 : 1);
            floorLeaked += Collector.UntilCollected(bareForRecord.Stop(), TimeSpan.FromSeconds(5)) ? 0 : 1;
            floorLeaked += Collector.UntilCollected(bareForScalar.Stop(), TimeSpan.FromSeconds(5)) ? 0 : 1;
            Collector.Quiesce();
        }

        if (leaked + floorLeaked > 0)
        {
            notes.Add($"first call: {leaked} of {3 * (count + warmup)} isolates and {floorLeaked} of {2 * (count + warmup)} bare contexts were not collected after closing.");
        }

        return
        [
            new Row("first call, record: CallAsync(Scale, Point, int) in a fresh isolate", "ms", record.Summarize(),
                "fresh bare context + thread: Point rebuilt by reflection, reflective call", floorRecord.Summarize()),
            new Row("first call, int: CallAsync(Identity, int) in a fresh isolate", "ms", scalar.Summarize(),
                "fresh bare context + thread: reflective call", floorScalar.Summarize()),
            new Row("first call, [Shareable] record (generated codec): CallAsync(NextTick, Tick) in a fresh isolate", "ms", shareable.Summarize(),
                "fresh bare context + thread: Point rebuilt by reflection, reflective call", floorRecord.Summarize()),
        ];
    }

    // The thread is up and waiting, as it is when Isolate.CreateAsync returns.
    private static async Task<BareIsolate> StartedBareAsync()
    {
        BareIsolate bare = BareIsolate.Start();
        await bare.RunAsync(static _ => 0);
        return bare;
    }
}
