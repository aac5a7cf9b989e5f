using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Isolates.Benchmarks.Peers;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Suites;

/// <summary>
/// One-way streaming of ints beside the in-process actor peers: a producer isolate writing to a consumer isolate
/// through a bounded isolate channel, and a producer actor telling a counting actor (unbounded mailbox) in Proto.Actor
/// and Akka.NET, each invocation until the last of <see cref="Messages"/> is processed; the time is per message.
/// </summary>
[MemoryDiagnoser]
public class PeerStreamingBenchmarks
{
    private const int Messages = 100_000;
    private const long Expected = (long)Messages * (Messages - 1) / 2;

    private Isolate _producer = null!;
    private Isolate _consumer = null!;
    private ProtoActorPeer _proto = null!;
    private AkkaPeer _akka = null!;

    [GlobalSetup]
    public async Task StartAsync()
    {
        _producer = await Isolate.CreateAsync();
        _consumer = await Isolate.CreateAsync();
        _proto = new ProtoActorPeer();
        _akka = new AkkaPeer();
    }

    [GlobalCleanup]
    public async Task StopAsync()
    {
        await _producer.CloseAsync();
        await _consumer.CloseAsync();
        await _proto.DisposeAsync();
        await _akka.DisposeAsync();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages, Description = "int, isolate → isolate, bounded channel (1024)")]
    public async Task<long> IsolateChannel()
    {
        Channel<int> channel = Isolates.IsolateChannel.CreateBounded<int>(1024);
        Task<long> consuming = _consumer.CallAsync(Streaming.ConsumeIntsAsync, channel.Reader);
        await _producer.CallAsync(Streaming.ProduceIntsAsync, channel.Writer, Messages);
        return Checked(await consuming);
    }

    [Benchmark(OperationsPerInvoke = Messages, Description = "Proto.Actor: producer actor → counting actor")]
    public async Task<long> ProtoStream() => Checked(await _proto.StreamAsync(Messages));

    [Benchmark(OperationsPerInvoke = Messages, Description = "Akka.NET: producer actor → counting actor")]
    public async Task<long> AkkaStream() => Checked(await _akka.StreamAsync(Messages));

    private static long Checked(long sum) =>
        sum == Expected ? sum : throw new InvalidOperationException($"Expected a sum of {Expected} but the stream delivered {sum}.");
}
