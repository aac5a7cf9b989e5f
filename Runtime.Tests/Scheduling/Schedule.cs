using System.Collections.Concurrent;
using System.Diagnostics;
using Isolates.Diagnostics;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// Runs a scenario once per seed under a <see cref="SeededScheduler"/>, so each run takes a different interleaving of
/// the runtime's racy steps. The number of seeds is small by default (the whole scheduling suite stays well under a
/// minute on 2 cores) and bounded by a time budget per test; <c>ISOLATES_SCHEDULE_ITERATIONS=N</c> runs N seeds per
/// test (and lifts the budget), <c>ISOLATES_SCHEDULE_SEED=S</c> runs only seed S (to replay a failure), and
/// <c>ISOLATES_SCHEDULE_SEED_BASE=B</c> explores seeds other than the default ones, and
/// <c>ISOLATES_SCHEDULE_NO_DELAYS=1</c> counts the points but never delays (to compare with plain stress runs). A failure
/// names its seed.
/// </summary>
internal static class Schedule
{
    /// <summary>How long one seed may take before the test fails as hung.</summary>
    public static readonly TimeSpan SeedTimeout = TimeSpan.FromSeconds(15);

    private static readonly ConcurrentDictionary<string, int> AllHits = new();

    /// <summary>
    /// Runs <paramref name="scenario"/> for <paramref name="seeds"/> seeds (fewer if <paramref name="budget"/> runs
    /// out first, but at least a few). Fails with the seed when a scenario throws or hangs, and when a point in
    /// <paramref name="mustReach"/> was never reached (a scheduling point that is not wired in explores nothing).
    /// </summary>
    public static async Task ExploreAsync(int seeds, Func<int, Task> scenario, TimeSpan budget, params string[] mustReach)
    {
        Assert.That(Interleave.Enabled, Is.True, "the test process must run with the AppContext switch Isolates.Interleave (set in the test project)");
        string test = TestContext.CurrentContext.Test.Name;
        int first = FirstSeed(test);
        int count = seeds;
        bool fixedCount = false;
        if (Environment.GetEnvironmentVariable("ISOLATES_SCHEDULE_SEED") is { Length: > 0 } one)
        {
            first = int.Parse(one, System.Globalization.CultureInfo.InvariantCulture);
            count = 1;
            fixedCount = true;
        }
        else if (Environment.GetEnvironmentVariable("ISOLATES_SCHEDULE_ITERATIONS") is { Length: > 0 } iterations)
        {
            count = int.Parse(iterations, System.Globalization.CultureInfo.InvariantCulture);
            fixedCount = true;
        }

        var hits = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();
        int ran = 0;
        for (int seed = first; ; seed++)
        {
            // Default runs stop after their seeds or their budget, whichever is first, once every required point was
            // reached. A point that only rare interleavings reach went unexplored now and then (all 80 seeds of a fast
            // test in 83 ms; or fewer seeds in the budget on a loaded machine) and failed the test, so until every
            // point is reached they keep going, for up to four budgets.
            bool reachedAll = Array.TrueForAll(mustReach, hits.ContainsKey);
            if (fixedCount ? ran >= count
                : ran >= 3 && (reachedAll ? ran >= count || clock.Elapsed > budget : clock.Elapsed > budget * 4))
            {
                break;
            }

            var scheduler = new SeededScheduler(seed, delays: Environment.GetEnvironmentVariable("ISOLATES_SCHEDULE_NO_DELAYS") != "1");
            using (Interleave.Install(scheduler))
            {
                Task run = Task.Run(() => scenario(seed));
                try
                {
                    await run.WaitAsync(SeedTimeout);
                }
                catch (TimeoutException)
                {
                    Assert.Fail($"{test}: seed {seed} hung (no end within {SeedTimeout.TotalSeconds} s). Replay: ISOLATES_SCHEDULE_SEED={seed} dotnet test Runtime.Tests -c Release --filter \"Name={test}\"");
                }
                catch (InvariantBrokenException ex)
                {
                    Assert.Fail($"{test}: seed {seed} broke an invariant: {ex.Message}. Replay: ISOLATES_SCHEDULE_SEED={seed} dotnet test Runtime.Tests -c Release --filter \"Name={test}\"");
                }
                catch (Exception ex) when (ex is not AssertionException)
                {
                    Assert.Fail($"{test}: seed {seed} failed. Replay: ISOLATES_SCHEDULE_SEED={seed} dotnet test Runtime.Tests -c Release --filter \"Name={test}\"\n{ex}");
                }
            }

            ran++;
            foreach ((string point, int n) in scheduler.Hits)
            {
                hits[point] = hits.GetValueOrDefault(point) + n;
                AllHits.AddOrUpdate(point, n, (_, m) => m + n);
            }
        }

        TestContext.Progress.WriteLine($"{test}: {ran} seeds from {first} in {clock.Elapsed.TotalSeconds:F1} s; points reached: " +
            string.Join(", ", hits.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
        string[] missed = [.. mustReach.Where(point => !hits.ContainsKey(point))];
        Assert.That(missed, Is.Empty, $"{test}: these scheduling points were never reached in {ran} seeds, so their interleavings were not explored");
    }

    /// <summary>
    /// A test's time budget for its seeds: default runs start no new seed after it (14 tests at 3 s keep the suite under
    /// a minute on a slow 2-core CI machine; they usually finish their seeds well before).
    /// </summary>
    public static TimeSpan Budget(double seconds) => TimeSpan.FromSeconds(seconds);

    /// <summary>
    /// Checks an invariant inside a scenario. Scenarios use this rather than NUnit asserts, which would record the
    /// failure without the seed; <see cref="ExploreAsync"/> reports it with the seed.
    /// </summary>
    public static void Require(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvariantBrokenException(invariant);
        }
    }

    /// <summary>Awaits <paramref name="task"/> for at most <paramref name="what"/>'s patience: a wait that never ends is an invariant broken ("every waiter completes").</summary>
    public static async Task Within(Task task, string what, double seconds = 5)
    {
        try
        {
            await task.WaitAsync(TimeSpan.FromSeconds(seconds));
        }
        catch (TimeoutException)
        {
            throw new InvariantBrokenException($"{what} did not complete within {seconds} s");
        }
    }

    /// <summary>A test's default first seed: stable (the same seeds every run, so CI is reproducible) and different per test.</summary>
    private static int FirstSeed(string test)
    {
        int offset = 0;
        if (Environment.GetEnvironmentVariable("ISOLATES_SCHEDULE_SEED_BASE") is { Length: > 0 } text)
        {
            offset = int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        }

        uint h = 2166136261;
        foreach (char c in test)
        {
            h = (h ^ c) * 16777619;
        }

        return (int)(h % 1_000_000) * 1000 + offset;
    }
}

/// <summary>A scenario's invariant did not hold.</summary>
internal sealed class InvariantBrokenException(string message) : Exception(message);
