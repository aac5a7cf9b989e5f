// The "core thread" model: one isolate owns the state, workers post updates to it, the host reads the result.
//
// The core is an ordinary object (Core) constructed inside the "core" isolate with CreateObjectAsync; nothing else can
// touch its fields. Workers (the isolates of a pool) get a proxy to it (ICore, written at build time by the Isolates
// source generator) and call it; every call runs on the core isolate's thread, one at a time, so the core needs no
// lock, and the calls of one worker arrive in the order it made them. The host reads the final state through the same
// proxy and releases the object. With --process the workers are child processes: the proxy crosses into each child
// and its calls come back over the child's pipe to the core isolate, with the same guarantees. Run with --self-test to
// exit 0 only when every update was applied exactly once, in order per worker, and the totals are exact.
using Isolates;

bool selfTest = args.Contains("--self-test");
bool inProcesses = args.Contains("--process");
string[] numbers = [.. args.Where(a => !a.StartsWith("--", StringComparison.Ordinal))];
int workers = numbers.Length > 0 ? int.Parse(numbers[0], System.Globalization.CultureInfo.InvariantCulture) : 4;
int perWorker = numbers.Length > 1 ? int.Parse(numbers[1], System.Globalization.CultureInfo.InvariantCulture) : 2_500;
if (workers < 1 || perWorker < 1)
{
    Console.Error.WriteLine("usage: CoreThread [workers >= 1] [updatesPerWorker >= 1] [--process] [--self-test]");
    return 2;
}

var failures = new List<string>();
void Expect(bool condition, string what)
{
    Console.WriteLine($"  {(condition ? "ok  " : "FAIL")} {what}");
    if (!condition)
    {
        failures.Add(what);
    }
}

await using Isolate coreIsolate = await Isolate.CreateAsync(new IsolateOptions { Name = "core" });
ICore core = await coreIsolate.CreateObjectAsync<ICore, Core>();   // constructed inside "core"; we hold a proxy

await using IsolatePool pool = await IsolatePool.CreateAsync(new IsolatePoolOptions
{
    Name = "worker",
    Size = workers,
    IsolateOptions = new IsolateOptions { Placement = inProcesses ? IsolatePlacement.ChildProcess : IsolatePlacement.InProcess },
});
// The proxy is shareable: each worker isolate receives its own typed copy, pointing at the same object in "core".
Posted[] posted = await Task.WhenAll(Enumerable.Range(0, workers).Select(w => pool.SubmitAsync(Worker.PostAsync, core, w, perWorker)));

Totals totals = await core.TotalsAsync();                      // the host reads the result through the proxy too
foreach ((string key, long value) in totals.ByKey.OrderBy(p => p.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"{key}: {value}");
}

foreach (Posted p in posted)
{
    Console.WriteLine($"worker {p.Worker} (in isolate '{p.RanIn}', process {p.ProcessId}) posted {p.Sent} updates");
}

long expected = (long)workers * perWorker;
Console.WriteLine($"core '{coreIsolate.Name}' applied {totals.Applied} updates from {workers} workers; state owned by isolate {totals.OwnerIsolate}");

Expect(totals.Applied == expected, $"every update applied exactly once ({totals.Applied} of {expected})");
Expect(totals.Duplicates == 0 && totals.OutOfOrder == 0, $"no update applied twice, none out of its worker's order ({totals.Duplicates} duplicates, {totals.OutOfOrder} out of order)");
Expect(totals.ByKey.Count == Math.Min(3, perWorker) && totals.ByKey.All(p => p.Value == Expected(p.Key)), "each bucket's total is exact");
Expect(posted.All(p => p.Sent == perWorker) && posted.Select(p => p.Worker).Order().SequenceEqual(Enumerable.Range(0, workers)), "every worker posted all of its updates");
Expect(totals.OwnerIsolate == coreIsolate.Id && totals.OnOwnThread, "the state was only ever touched on the core isolate's own thread");
Expect(posted.All(p => (p.ProcessId != Environment.ProcessId) == inProcesses), inProcesses ? "every worker ran in a child process" : "every worker ran in this process");

await Isolate.ReleaseAsync(core);                                // the object is released in its isolate
bool released = false;
try
{
    await core.TotalsAsync();
}
catch (IsolateClosedException)
{
    released = true;
}

Expect(released, "after release, a call through the proxy fails with IsolateClosedException");
Console.WriteLine(failures.Count == 0 ? "core thread: exact" : $"core thread: {failures.Count} check(s) failed");
return selfTest && failures.Count > 0 ? 1 : 0;

// Bucket k gets one update of delta (i % 5 + 1) for each i with i % 3 == k, from each worker.
long Expected(string key)
{
    int k = int.Parse(key["bucket-".Length..], System.Globalization.CultureInfo.InvariantCulture);
    long perWorkerSum = 0;
    for (int i = k; i < perWorker; i += 3)
    {
        perWorkerSum += i % 5 + 1;
    }

    return perWorkerSum * workers;
}

/// <summary>One update, posted by a worker: its sequence number lets the core check each worker's order.</summary>
[Shareable]
public sealed record Update(int Worker, int Sequence, string Key, long Delta);

/// <summary>What the core applied (a copy of its state: the host never sees the dictionary itself).</summary>
[Shareable]
public sealed record Totals(long Applied, long Duplicates, long OutOfOrder, Dictionary<string, long> ByKey, long OwnerIsolate, bool OnOwnThread);

[Shareable]
public sealed record Posted(int Worker, int Sent, string RanIn, int ProcessId);

/// <summary>The core's interface: the generator writes the proxy workers call and the stub that runs in "core".</summary>
[IsolateInterface]
public interface ICore
{
    /// <summary>Applies one update; returns how many updates the core has applied so far.</summary>
    Task<long> ApplyAsync(Update update);

    Task<Totals> TotalsAsync();
}

/// <summary>The state. Lives in the core isolate; its methods only ever run there, one call at a time.</summary>
public sealed class Core : ICore
{
    private readonly Dictionary<string, long> _state = new(StringComparer.Ordinal);
    private readonly Dictionary<int, int> _lastSequence = [];   // per worker: the last sequence number applied
    private long _applied;
    private long _duplicates;
    private long _outOfOrder;
    private bool _onOwnThread = true;

    public Task<long> ApplyAsync(Update update)
    {
        _onOwnThread &= Isolate.Current is { } here && Thread.CurrentThread.Name == "isolate:" + here.Name;
        int last = _lastSequence.GetValueOrDefault(update.Worker, -1);
        if (update.Sequence <= last)
        {
            _duplicates++;            // seen before (or older): applying it again would count it twice
            return Task.FromResult(_applied);
        }

        if (update.Sequence != last + 1)
        {
            _outOfOrder++;            // a gap: an earlier update of this worker has not arrived (yet)
        }

        _lastSequence[update.Worker] = update.Sequence;
        _state[update.Key] = _state.GetValueOrDefault(update.Key) + update.Delta;
        _applied++;
        return Task.FromResult(_applied);
    }

    public Task<Totals> TotalsAsync() =>
        Task.FromResult(new Totals(_applied, _duplicates, _outOfOrder, new Dictionary<string, long>(_state, StringComparer.Ordinal), Isolate.Current?.Id ?? 0, _onOwnThread));
}

public static class Worker
{
    /// <summary>How many calls a worker keeps in flight: calls from one caller keep their order, so it need not wait for each.</summary>
    private const int Window = 32;

    /// <summary>Runs in a pool isolate: posts <paramref name="count"/> updates to the core through the proxy it was given.</summary>
    public static async Task<Posted> PostAsync(ICore core, int worker, int count)
    {
        var inFlight = new List<Task<long>>(Window);
        for (int i = 0; i < count; i++)
        {
            inFlight.Add(core.ApplyAsync(new Update(worker, i, $"bucket-{i % 3}", i % 5 + 1)));
            if (inFlight.Count == Window)
            {
                await Task.WhenAll(inFlight);
                inFlight.Clear();
            }
        }

        await Task.WhenAll(inFlight);
        return new Posted(worker, count, Isolate.Current!.Name, Environment.ProcessId);
    }
}
