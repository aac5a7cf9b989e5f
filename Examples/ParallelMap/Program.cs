// Make a CPU-bound loop use every core, safely: IsolatePool.MapAsync runs the function in parallel isolates,
// returns the results in input order, and reports the speedup over the plain loop measured in the same run.
using System.Diagnostics;
using Isolates;

const int Items = 64;
const int Work = 60_000; // numbers scanned for primes per item: a few milliseconds each
int[] inputs = [.. Enumerable.Range(0, Items).Select(i => Work + i)];

// The plain loop, on one thread.
var watch = Stopwatch.StartNew();
long[] sequential = [.. inputs.Select(Primes.Count)];
TimeSpan loop = watch.Elapsed;

// The same work on a pool: one isolate per core, started once and reused.
await using IsolatePool pool = await IsolatePool.CreateAsync(size: Environment.ProcessorCount);
await pool.MapAsync(inputs.Take(pool.Size), Primes.Count); // warm up: the first call in each isolate compiles its code

watch.Restart();
IReadOnlyList<long> parallel = await pool.MapAsync(inputs, Primes.Count);
TimeSpan mapped = watch.Elapsed;

if (!parallel.SequenceEqual(sequential))
{
    throw new InvalidOperationException("The pool returned different results from the loop.");
}

Console.WriteLine($"{Items} items, {pool.Size} isolates on {Environment.ProcessorCount} cores");
Console.WriteLine($"loop:      {loop.TotalMilliseconds,8:F1} ms");
Console.WriteLine($"MapAsync:  {mapped.TotalMilliseconds,8:F1} ms");
Console.WriteLine($"speedup:   {loop / mapped,8:F2}x (the same results, in the same order)");

/// <summary>Plain CPU-bound code: nothing about it knows it runs in an isolate.</summary>
public static class Primes
{
    public static long Count(int limit)
    {
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

        return count;
    }
}
