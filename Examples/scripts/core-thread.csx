// core-thread.csx: one isolate owns the state; workers never touch it, they post updates through a channel.
// The "core" applies updates one at a time on its own thread, so its dictionary needs no lock.
// Run: dotnet run --project tools/Isolates.Cli -- run Examples/scripts/core-thread.csx [workers] [updatesPerWorker]
int workers = args.Length > 0 ? int.Parse(args[0]) : 4;
int perWorker = args.Length > 1 ? int.Parse(args[1]) : 2_500;

Channel<Update> updates = IsolateChannel.CreateBounded<Update>(capacity: 1024);
await using Isolate core = await Isolate.CreateAsync(new IsolateOptions { Name = "core" });
Task<Totals> owner = core.CallAsync(Core.RunAsync, updates.Reader);

var isolates = new List<Isolate>();
for (int w = 0; w < workers; w++)
{
    isolates.Add(await Isolate.CreateAsync(new IsolateOptions { Name = $"worker-{w}" }));
}

await Task.WhenAll(isolates.Select((iso, w) => iso.CallAsync(Worker.PostAsync, updates.Writer, w, perWorker)));
updates.Writer.Complete();                      // all workers are done: the core's loop ends
Totals totals = await owner;
await Task.WhenAll(isolates.Select(iso => iso.CloseAsync()));

foreach ((string key, long value) in totals.ByKey.OrderBy(p => p.Key))
{
    Console.WriteLine($"{key}: {value}");
}

long expected = (long)workers * perWorker;
Console.WriteLine($"core '{core.Name}' applied {totals.Applied} updates from {workers} workers ({(totals.Applied == expected ? "none lost" : $"expected {expected}")})");
return totals.Applied == expected ? 0 : 1;

[Shareable]
public sealed record Update(string Key, long Delta);

[Shareable]
public sealed record Totals(long Applied, Dictionary<string, long> ByKey);

public static class Core
{
    // The state lives in the core isolate only; nothing else can reach it.
    private static readonly Dictionary<string, long> State = [];

    public static async Task<Totals> RunAsync(ChannelReader<Update> updates)
    {
        long applied = 0;
        await foreach (Update u in updates.ReadAllAsync())
        {
            State[u.Key] = State.GetValueOrDefault(u.Key) + u.Delta;
            applied++;
        }

        return new Totals(applied, new Dictionary<string, long>(State));
    }
}

public static class Worker
{
    public static async Task PostAsync(ChannelWriter<Update> updates, int worker, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await updates.WriteAsync(new Update($"bucket-{i % 3}", 1));
        }
    }
}
