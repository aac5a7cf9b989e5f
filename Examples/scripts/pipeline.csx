// pipeline.csx: producer -> squarer -> summer, three isolates joined by bounded channels (backpressure included).
// Run: dotnet run --project tools/Isolates.Cli -- run Examples/scripts/pipeline.csx [count]
int count = args.Length > 0 ? int.Parse(args[0]) : 10_000;

Channel<int> numbers = IsolateChannel.CreateBounded<int>(capacity: 256);
Channel<Squared> squares = IsolateChannel.CreateBounded<Squared>(capacity: 256);

await using Isolate producer = await Isolate.CreateAsync(new IsolateOptions { Name = "producer" });
await using Isolate squarer = await Isolate.CreateAsync(new IsolateOptions { Name = "squarer" });
await using Isolate summer = await Isolate.CreateAsync(new IsolateOptions { Name = "summer" });

Task produced = producer.CallAsync(Stages.ProduceAsync, numbers.Writer, count);
Task squared = squarer.CallAsync(Stages.SquareAsync, numbers.Reader, squares.Writer);
Task<long> total = summer.CallAsync(Stages.SumAsync, squares.Reader);

await Task.WhenAll(produced, squared);
long sum = await total;
long expected = Enumerable.Range(1, count).Sum(i => (long)i * i);
Console.WriteLine($"sum of squares 1..{count} = {sum} ({(sum == expected ? "correct" : $"WRONG, expected {expected}")})");
return sum == expected ? 0 : 1;

[Shareable]
public sealed record Squared(int N, long Square);

public static class Stages
{
    // Each stage completes its output when it is done, so the next stage's loop ends.
    public static async Task ProduceAsync(ChannelWriter<int> output, int count)
    {
        for (int i = 1; i <= count; i++)
        {
            await output.WriteAsync(i);
        }

        output.Complete();
    }

    public static async Task SquareAsync(ChannelReader<int> input, ChannelWriter<Squared> output)
    {
        await foreach (int n in input.ReadAllAsync())
        {
            await output.WriteAsync(new Squared(n, (long)n * n));
        }

        output.Complete();
    }

    public static async Task<long> SumAsync(ChannelReader<Squared> input)
    {
        long sum = 0;
        await foreach (Squared s in input.ReadAllAsync())
        {
            sum += s.Square;
        }

        return sum;
    }
}
