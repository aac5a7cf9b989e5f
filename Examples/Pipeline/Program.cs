// A producer/consumer pipeline across isolates: a parser isolate turns raw lines into records, a scorer isolate
// scores them, and the host totals the results. Stages talk only through bounded channels, so a slow stage slows
// the ones before it (backpressure) instead of letting queues grow without limit; completion, and failure, flow
// down the pipeline on their own.
using System.Diagnostics;
using System.Threading.Channels;
using Isolates;

const int Lines = 200_000;

await using Isolate parser = await Isolate.CreateAsync(new IsolateOptions { Name = "parser" });
await using Isolate scorer = await Isolate.CreateAsync(new IsolateOptions { Name = "scorer" });

Channel<string> raw = IsolateChannel.CreateBounded<string>(capacity: 256);
Channel<Trade> trades = IsolateChannel.CreateBounded<Trade>(capacity: 256);
Channel<Score> scores = IsolateChannel.CreateBounded<Score>(capacity: 256);

var watch = Stopwatch.StartNew();
Task<int> parsing = parser.CallAsync(Stages.ParseAsync, raw.Reader, trades.Writer);
Task<int> scoring = scorer.CallAsync(Stages.ScoreAsync, trades.Reader, scores.Writer);
Task feeding = Task.Run(async () =>
{
    for (int i = 0; i < Lines; i++)
    {
        await raw.Writer.WriteAsync($"{i},ACME,{100 + (i % 7)}.25,{1 + (i % 10)}");
    }

    raw.Writer.Complete();
});

decimal total = 0;
long count = 0;
await foreach (Score score in scores.Reader.ReadAllAsync())
{
    total += score.Value;
    count++;
}

await Task.WhenAll(feeding, parsing, scoring);
watch.Stop();
Console.WriteLine($"parser read {await parsing:N0} lines, scorer scored {await scoring:N0} trades");
Console.WriteLine($"host received {count:N0} scores, total {total:N2}, in {watch.ElapsedMilliseconds} ms ({count / watch.Elapsed.TotalSeconds:N0} per second through two isolates)");

/// <summary>A parsed trade: a shareable record, copied between isolates and rebuilt as each one's own type.</summary>
[Shareable]
public sealed record Trade(int Id, string Symbol, decimal Price, int Quantity);

/// <summary>A scored trade.</summary>
[Shareable]
public sealed record Score(int TradeId, decimal Value);

/// <summary>The stages. Each runs inside its own isolate, on that isolate's thread.</summary>
public static class Stages
{
    public static async Task<int> ParseAsync(ChannelReader<string> input, ChannelWriter<Trade> output)
    {
        int parsed = 0;
        await foreach (string line in input.ReadAllAsync())
        {
            string[] parts = line.Split(',');
            await output.WriteAsync(new Trade(int.Parse(parts[0]), parts[1], decimal.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[3])));
            parsed++;
        }

        output.Complete();
        return parsed;
    }

    public static async Task<int> ScoreAsync(ChannelReader<Trade> input, ChannelWriter<Score> output)
    {
        int scored = 0;
        await foreach (Trade trade in input.ReadAllAsync())
        {
            await output.WriteAsync(new Score(trade.Id, trade.Price * trade.Quantity / 100m));
            scored++;
        }

        output.Complete();
        return scored;
    }
}
