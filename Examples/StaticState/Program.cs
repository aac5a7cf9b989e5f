// Per-isolate static state and parallel calls.
//
// LegacyCounter below is the kind of code isolates exist for: it keeps its state in static fields, so two
// callers on two threads would corrupt each other. Each isolate loads its own copy of this assembly, so each has
// its own statics, and each runs its calls on its own thread: no locks, no races, real parallelism.
using System.Diagnostics;
using Isolates;
using MessagePack;

Console.WriteLine($"Host: {Environment.ProcessorCount} cores, .NET {Environment.Version}");

// 1. Every isolate has its own statics; the host's copy is untouched.
await using (Isolate a = await Isolate.CreateAsync(new IsolateOptions { Name = "a" }))
await using (Isolate b = await Isolate.CreateAsync(new IsolateOptions { Name = "b" }))
{
    Console.WriteLine($"a: {await a.CallAsync(LegacyCounter.Next)}, {await a.CallAsync(LegacyCounter.Next)}, {await a.CallAsync(LegacyCounter.Next)}");
    Console.WriteLine($"b: {await b.CallAsync(LegacyCounter.Next)}");
    Console.WriteLine($"host: {LegacyCounter.Current} (never touched)");

    // Records marked [MessagePackObject] cross as copies and come back as the caller's own type.
    Stats s = await a.CallAsync(LegacyCounter.Describe, "from the host");
    Console.WriteLine($"a says: {s}");
}

// 2. Parallel calls: one isolate per core, each crunching with its own static cache.
int workers = Math.Max(2, Environment.ProcessorCount);
Isolate[] pool = await Task.WhenAll(Enumerable.Range(0, workers).Select(i => Isolate.CreateAsync(new IsolateOptions { Name = $"worker-{i}" })));
try
{
    const int Jobs = 16;
    var watch = Stopwatch.StartNew();
    long[] results = await Task.WhenAll(Enumerable.Range(0, Jobs).Select(job => pool[job % workers].CallAsync(LegacyCounter.CountPrimes, 400_000 + job)));
    watch.Stop();
    Console.WriteLine($"{Jobs} prime counts on {workers} isolates in {watch.ElapsedMilliseconds} ms (first: {results[0]})");

    watch.Restart();
    for (int job = 0; job < Jobs; job++)
    {
        LegacyCounter.CountPrimes(400_000 + job);
    }

    watch.Stop();
    Console.WriteLine($"the same on the host's one thread: {watch.ElapsedMilliseconds} ms");
    Console.WriteLine("(the isolates' second round would hit their per-isolate caches; the host's cache is its own)");
}
finally
{
    await Task.WhenAll(pool.Select(i => i.CloseAsync()));
}

Console.WriteLine($"isolates still alive: {Isolate.All.Count}");

/// <summary>Legacy code that keeps its state in statics.</summary>
public static class LegacyCounter
{
    private static int s_count;
    private static readonly Dictionary<int, long> Cache = [];

    public static int Current => s_count;

    public static int Next() => ++s_count;

    public static Stats Describe(string note) => new(Isolate.Current?.Name ?? "host", s_count, note);

    public static long CountPrimes(int limit)
    {
        if (Cache.TryGetValue(limit, out long known))
        {
            return known;
        }

        long count = 0;
        for (int n = 2; n < limit; n++)
        {
            bool prime = true;
            for (int d = 2; (long)d * d <= n; d++)
            {
                if (n % d == 0)
                {
                    prime = false;
                    break;
                }
            }

            if (prime)
            {
                count++;
            }
        }

        Cache[limit] = count;
        return count;
    }
}

/// <summary>A shareable record: crosses between isolates as MessagePack bytes.</summary>
[MessagePackObject]
public sealed record Stats([property: Key(0)] string Isolate, [property: Key(1)] int Count, [property: Key(2)] string Note);
