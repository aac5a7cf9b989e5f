using System.Runtime.CompilerServices;

namespace Isolates.Tests.Support;

/// <summary>A record that crosses the process boundary through its generated codec.</summary>
[Shareable]
public sealed record Shipment(string Label, int[] Items, DateTimeOffset At);

/// <summary>Functions run in child-process isolates (Processes tests): state, values, errors, crashes, memory, kills.</summary>
public static class ChildWork
{
    private static int s_count;

    public static int Bump() => ++s_count;

    public static int ProcessId() => Environment.ProcessId;

    public static int Add(int a, int b) => a + b;

    public static Shipment Echo(Shipment shipment) => shipment with { Label = shipment.Label + "!", Items = [.. shipment.Items, shipment.Items.Length] };

    public static async Task<string> DelayedAsync(string text, int milliseconds)
    {
        await Task.Delay(milliseconds);
        return text.ToUpperInvariant();
    }

    public static async ValueTask<int> ValueTaskAsync(int x)
    {
        await Task.Yield();
        return x * 2;
    }

    public static void Nothing()
    {
    }

    public static async Task NothingAsync() => await Task.Yield();

    public static bool InIsolate() => Isolate.Current is not null;

    public static int Throw(string message) => throw new InvalidOperationException(message);

    /// <summary>Waits on the call's token; returns how it ended.</summary>
    public static async Task<string> WaitForCancellationAsync(CancellationToken token)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, token);
            return "not cancelled";
        }
        catch (OperationCanceledException)
        {
            File.WriteAllText(Path.Combine(Path.GetTempPath(), $"isolates-child-cancelled-{Environment.ProcessId}"), "cancelled");
            throw;
        }
    }

    /// <summary>Spins without looking at any token: only a kill ends it.</summary>
    public static int SpinForever()
    {
        while (true)
        {
            Thread.SpinWait(1000);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Recurse(int depth) => depth == int.MaxValue ? depth : Recurse(depth + 1) + 1;

    public static int FailFast()
    {
        Environment.FailFast("isolate code called FailFast");
        return 0;
    }

    public static int Exit(int code)
    {
        Environment.Exit(code);
        return 0;
    }

    public static int ThrowOnAnotherThread()
    {
        var thread = new Thread(() => throw new InvalidTimeZoneException("thrown on a thread of its own"));
        thread.Start();
        thread.Join();
        return 0;
    }

    public static async void AsyncVoidThrows()
    {
        await Task.Yield();
        throw new ApplicationException("escaped from async void");
    }

    public static void StartAsyncVoid() => AsyncVoidThrows();

    private static readonly List<byte[]> Held = [];

    /// <summary>Allocates and keeps <paramref name="megabytes"/> MB.</summary>
    public static int Hold(int megabytes)
    {
        for (int i = 0; i < megabytes; i++)
        {
            var block = new byte[1024 * 1024];
            block[^1] = 1;
            Held.Add(block);
        }

        return Held.Count;
    }

    public static string Write(string line)
    {
        Console.WriteLine(line);
        Console.Error.WriteLine("err: " + line);
        return line;
    }

    private static Isolate? s_grandchild;

    /// <summary>Starts a child-process isolate of this (child) process, keeps it, and returns its process id.</summary>
    public static async Task<int> SpawnChildAsync()
    {
        s_grandchild = await Isolate.CreateAsync(new IsolateOptions { Name = "grandchild", Placement = IsolatePlacement.ChildProcess });
        return s_grandchild.ProcessId!.Value;
    }

    public static int SquareSlowly(int x)
    {
        Thread.Sleep(20);
        return x * x;
    }

    public static int FailOn(int x) => x == 13 ? throw new ArgumentException("unlucky " + x) : x;

    public static int Add1(int x) => x + 1;

    public static string TraceId() => System.Diagnostics.Activity.Current?.TraceId.ToHexString() ?? "none";

    private static int s_counted;

    /// <summary>Counts every item it runs (20 ms each, one at a time); item 13 throws.</summary>
    public static int CountUnlessThirteen(int x)
    {
        Interlocked.Increment(ref s_counted);
        Thread.Sleep(20);
        return x == 13 ? throw new ArgumentException("unlucky 13") : x;
    }

    public static int Counted() => s_counted;
}
