using System.Diagnostics;
using System.Threading.Channels;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Quick;

/// <summary>
/// Channels through a child-process isolate: the host writes ints (or a 3-field record) into a bounded channel, the
/// child copies each to a second bounded channel, the host reads them back; beside the same pipeline through an
/// in-process isolate (the floor: what crossing the process boundary costs on top). Both ends of the pipeline are in
/// the host, so the rate includes the pipe both ways. Repetitions alternate the placements, so noise hits them alike.
/// </summary>
internal static class ChildChannelFigure
{
    private const int Capacity = 1024;

    public static async Task<IReadOnlyList<Row>> MeasureAsync(int messages, int repetitions)
    {
        Samples childInts = Samples.Values(repetitions), childTicks = Samples.Values(repetitions), ints = Samples.Values(repetitions), ticks = Samples.Values(repetitions);
        await using Isolate child = await Isolate.CreateAsync(new IsolateOptions { Name = "child-stage", Placement = IsolatePlacement.ChildProcess });
        await using Isolate local = await Isolate.CreateAsync(new IsolateOptions { Name = "local-stage" });
        long expected = (long)messages * (messages - 1) / 2;
        for (int r = -1; r < repetitions; r++) // -1 warms up
        {
            double childIntRate = await PipelineAsync(child, messages, expected, static i => i, static i => i, ChildStreaming.PipeIntsAsync);
            double intRate = await PipelineAsync(local, messages, expected, static i => i, static i => i, ChildStreaming.PipeIntsAsync);
            double childTickRate = await PipelineAsync(child, messages, expected, static i => new Tick(i, i * 0.5, i), static t => t.Id, ChildStreaming.PipeTicksAsync);
            double tickRate = await PipelineAsync(local, messages, expected, static i => new Tick(i, i * 0.5, i), static t => t.Id, ChildStreaming.PipeTicksAsync);
            if (r >= 0)
            {
                childInts.AddValue(childIntRate / 1e6);
                ints.AddValue(intRate / 1e6);
                childTicks.AddValue(childTickRate / 1e6);
                ticks.AddValue(tickRate / 1e6);
            }
        }

        return
        [
            new Row($"channel streaming, int, host → child process → host (bounded {Capacity})", "M msg/s", childInts.Summarize(higherIsBetter: true),
                "the same pipeline through an in-process isolate", ints.Summarize(higherIsBetter: true)),
            new Row("channel streaming, [Shareable] 3-field record, host → child process → host", "M msg/s", childTicks.Summarize(higherIsBetter: true),
                "the same pipeline through an in-process isolate", ticks.Summarize(higherIsBetter: true)),
        ];
    }

    private static async Task<double> PipelineAsync<T>(Isolate stage, int messages, long expected, Func<int, T> make, Func<T, long> value,
        Func<ChannelReader<T>, ChannelWriter<T>, Task<long>> pipe)
    {
        Channel<T> input = IsolateChannel.CreateBounded<T>(Capacity);
        Channel<T> output = IsolateChannel.CreateBounded<T>(Capacity);
        long start = Stopwatch.GetTimestamp();
        Task<long> piping = stage.CallAsync(pipe, input.Reader, output.Writer);
        Task producing = Task.Run(async () =>
        {
            ChannelWriter<T> writer = input.Writer;
            for (int i = 0; i < messages; i++)
            {
                T item = make(i);
                if (!writer.TryWrite(item))
                {
                    await writer.WriteAsync(item);
                }
            }

            writer.Complete();
        });
        long sum = 0;
        ChannelReader<T> reader = output.Reader;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out T? item))
            {
                sum += value(item);
            }
        }

        await producing;
        Check.Equal((long)messages, await piping);
        long end = Stopwatch.GetTimestamp();
        Check.Equal(expected, sum);
        return messages / ((end - start) / (double)Stopwatch.Frequency);
    }
}
