using System.Diagnostics;
using System.Threading.Channels;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Channels: one-way streaming isolate to isolate (ints and a 3-field record) beside a raw bounded
/// <see cref="Channel{T}"/> between two dedicated threads, and a ping-pong over two channels between the host and an
/// isolate. Repetitions alternate the ways, so noise hits them alike.
/// </summary>
internal static class ChannelFigure
{
    private const int Capacity = 1024;

    public static async Task<IReadOnlyList<Row>> MeasureAsync(int messages, int pingPongs, int repetitions)
    {
        Samples ints = Samples.Values(repetitions), records = Samples.Values(repetitions), floor = Samples.Values(repetitions), recordFloor = Samples.Values(repetitions);
        double intBytes = 0, recordBytes = 0;
        await using Isolate producer = await Isolate.CreateAsync(new IsolateOptions { Name = "producer" });
        await using Isolate consumer = await Isolate.CreateAsync(new IsolateOptions { Name = "consumer" });
        long expected = (long)messages * (messages - 1) / 2;

        for (int r = -1; r < repetitions; r++) // -1 warms up
        {
            (double rate, double bytes) = await StreamAsync<int>(producer, consumer, messages, expected, Streaming.ProduceIntsAsync, Streaming.ConsumeIntsAsync);
            (double recordRate, double perRecord) = await StreamAsync<Tick>(producer, consumer, messages, expected, Streaming.ProduceTicksAsync, Streaming.ConsumeTicksAsync);
            double floorRate = RawThreads(messages, expected, static i => i, static i => i);
            double recordFloorRate = RawThreads(messages, expected, static i => new Tick(i, i * 0.5, i), static tick => tick.Id);
            if (r >= 0)
            {
                recordFloor.AddValue(recordFloorRate / 1e6);
                ints.AddValue(rate / 1e6);
                records.AddValue(recordRate / 1e6);
                floor.AddValue(floorRate / 1e6);
                intBytes = bytes;
                recordBytes = perRecord;
            }
        }

        Samples pingPong = await PingPongAsync(consumer, pingPongs);
        Summary floorSummary = floor.Summarize(higherIsBetter: true);
        return
        [
            new Row($"channel streaming, int, isolate → isolate (bounded {Capacity})", "M msg/s", ints.Summarize(higherIsBetter: true),
                $"raw bounded Channel<int>({Capacity}) between two dedicated threads", floorSummary),
            new Row($"channel streaming, [Shareable] 3-field record, isolate → isolate", "M msg/s", records.Summarize(higherIsBetter: true),
                $"raw bounded Channel<Tick>({Capacity}) between two dedicated threads (by reference, no copy)", recordFloor.Summarize(higherIsBetter: true)),
            new Row("channel streaming: managed bytes allocated per message (int / record)", "B", Summary.Single(intBytes, messages),
                $"record: {recordBytes:N0} B per message", Summary.Single(recordBytes, messages), HasRatio: false),
            new Row("channel ping-pong: host → isolate → host over two bounded channels", "µs", pingPong.Summarize(),
                "(see the call round trip above for the floors)", Summary.Single(double.NaN, 0), HasRatio: false),
        ];
    }

    private static async Task<(double Rate, double BytesPerMessage)> StreamAsync<T>(
        Isolate producer, Isolate consumer, int messages, long expected,
        Func<ChannelWriter<T>, int, Task> produce, Func<ChannelReader<T>, Task<long>> consume)
    {
        Channel<T> channel = IsolateChannel.CreateBounded<T>(Capacity);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        Task<long> consuming = consumer.CallAsync(consume, channel.Reader);
        Task producing = producer.CallAsync(produce, channel.Writer, messages);
        long sum = await consuming;
        await producing;
        long end = Stopwatch.GetTimestamp();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Check.Equal(expected, sum);
        return (messages / ((end - start) / (double)Stopwatch.Frequency), (double)allocated / messages);
    }

    /// <summary>
    /// The floor: a raw bounded <see cref="Channel{T}"/> between two dedicated threads, written and read with the
    /// same TryWrite/TryRead loops, items passed by reference (no copy).
    /// </summary>
    private static double RawThreads<T>(int messages, long expected, Func<int, T> make, Func<T, long> value)
    {
        Channel<T> channel = Channel.CreateBounded<T>(new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true });
        long sum = 0;
        var reader = new Thread(() =>
        {
            ChannelReader<T> r = channel.Reader;
            while (true)
            {
                while (r.TryRead(out T? item))
                {
                    sum += value(item);
                }

                if (!r.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                {
                    return;
                }
            }
        });
        var writer = new Thread(() =>
        {
            ChannelWriter<T> w = channel.Writer;
            for (int i = 0; i < messages; i++)
            {
                T item = make(i);
                while (!w.TryWrite(item))
                {
                    w.WaitToWriteAsync().AsTask().GetAwaiter().GetResult();
                }
            }

            w.Complete();
        });
        long start = Stopwatch.GetTimestamp();
        reader.Start();
        writer.Start();
        writer.Join();
        reader.Join();
        long end = Stopwatch.GetTimestamp();
        Check.Equal(expected, sum);
        return messages / ((end - start) / (double)Stopwatch.Frequency);
    }

    private static async Task<Samples> PingPongAsync(Isolate echo, int count)
    {
        Channel<int> requests = IsolateChannel.CreateBounded<int>(1);
        Channel<int> replies = IsolateChannel.CreateBounded<int>(1);
        Task echoing = echo.CallAsync(Streaming.EchoAsync, requests.Reader, replies.Writer);
        Samples samples = Samples.Microseconds(count);
        for (int i = -count / 10; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await requests.Writer.WriteAsync(i);
            int reply = await replies.Reader.ReadAsync();
            long end = Stopwatch.GetTimestamp();
            Check.Equal(i, reply);
            if (i >= 0)
            {
                samples.Add(start, end);
            }
        }

        requests.Writer.Complete();
        await echoing;
        return samples;
    }
}
