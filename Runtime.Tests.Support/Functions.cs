using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using MessagePack;

namespace Isolates.Tests.Support;

// Code that tests run inside isolates. Each isolate gets its own copy of this assembly, so every static field
// below is per isolate.

/// <summary>A counter with per-isolate state.</summary>
public static class Counter
{
    private static int s_count;

    public static int Bump() => ++s_count;

    public static int Read() => s_count;

    public static void Bump2() => s_count += 2;

    public static void Add(int amount) => s_count += amount;
}

[MessagePackObject]
public sealed record Point([property: Key(0)] int X, [property: Key(1)] int Y);

public static class Geometry
{
    public static Point Scale(Point p, int k) => new(p.X * k, p.Y * k);

    /// <summary>True when the argument was rebuilt as a type of the isolate's own context.</summary>
    public static bool IsOwnType(Point p) =>
        AssemblyLoadContext.GetLoadContext(p.GetType().Assembly) == AssemblyLoadContext.GetLoadContext(typeof(Geometry).Assembly) &&
        AssemblyLoadContext.GetLoadContext(p.GetType().Assembly) != AssemblyLoadContext.Default;
}

public static class Work
{
    public static async Task<long> SumAsync(int n)
    {
        long sum = 0;
        for (int i = 1; i <= n; i++)
        {
            sum += i;
            if (i % 100 == 0)
            {
                await Task.Yield();
            }
        }

        return sum;
    }

    public static int Identity(int x) => x;

    public static string Concat(string a, int b, double c, bool d) => $"{a}|{b}|{c}|{d}";

    public static async ValueTask<int> DoubleLaterAsync(int x)
    {
        await Task.Delay(1);
        return x * 2;
    }

    public static async Task TouchAsync()
    {
        await Task.Yield();
        Counter.Bump();
    }

    public static int ThreadId() => Environment.CurrentManagedThreadId;

    /// <summary>Awaits in several ways and reports the thread each continuation ran on.</summary>
    public static async Task<int[]> ThreadsAcrossAwaitsAsync()
    {
        var threads = new List<int> { Environment.CurrentManagedThreadId };
        await Task.Yield();
        threads.Add(Environment.CurrentManagedThreadId);
        await Task.Delay(5);
        threads.Add(Environment.CurrentManagedThreadId);
        await Task.Run(() => Thread.Sleep(1));
        threads.Add(Environment.CurrentManagedThreadId);
        return [.. threads];
    }

    public static string? CurrentIsolateName() => Isolate.Current?.Name;

    public static bool HasIsolateSynchronizationContext() =>
        SynchronizationContext.Current is not null && SynchronizationContext.Current.GetType().Name == "IsolateSynchronizationContext";

    public static void Sleep(int milliseconds) => Thread.Sleep(milliseconds);

    public static Task NeverAsync() => new TaskCompletionSource().Task;

    public static async Task<int> CountUntilCancelledAsync(CancellationToken token)
    {
        int ticks = 0;
        try
        {
            while (true)
            {
                await Task.Delay(5, token);
                ticks++;
            }
        }
        catch (OperationCanceledException)
        {
            Counter.Add(1000); // visible to a later call: the isolate saw the cancellation
            throw;
        }
    }

    public static int[] Mutate(int[] values)
    {
        values[0] = -1;
        return values;
    }

    /// <summary>Resolves a type by name under the isolate's contextual reflection.</summary>
    public static bool TypeGetTypeFindsOwnCopy() =>
        Type.GetType(typeof(Counter).AssemblyQualifiedName!) == typeof(Counter);

    public static async Task<int> BumpInNestedIsolateAsync()
    {
        Counter.Bump();
        Counter.Bump(); // this isolate's counter is now 2
        await using Isolate nested = await Isolate.CreateAsync(new IsolateOptions { Name = "nested" });
        int inNested = await nested.CallAsync(Counter.Bump); // a fresh copy: 1
        return (inNested * 100) + Counter.Read();
    }

    /// <summary>Reports, through process-wide state the test can read after the isolate is gone, where the callback ran.</summary>
    public static void RegisterClosingCallback(string variable)
    {
        Isolate.Current!.ClosingToken.Register(() =>
            Environment.SetEnvironmentVariable(variable, Environment.CurrentManagedThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Long-running code that watches the isolate's closing token, as isolate code should.</summary>
    public static int LoopUntilClosing()
    {
        int rounds = 0;
        while (!Isolate.Current!.ClosingToken.IsCancellationRequested)
        {
            Thread.Sleep(5);
            rounds++;
        }

        return rounds + 1;
    }

    /// <summary>Allocates a large array into a static field: memory that must be freed when the isolate unloads.</summary>
    public static int FillStaticMegabyte()
    {
        s_ballast = new byte[1024 * 1024];
        s_ballast[^1] = 1;
        return s_ballast.Length;
    }

    private static byte[]? s_ballast;
}

public static class Failing
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Throw(string message) => throw new InvalidOperationException(message, new ArgumentException("inner cause"));

    public static async Task<int> ThrowLaterAsync(string message)
    {
        await Task.Yield();
        throw new FormatException(message);
    }

    public static void StartAsyncVoidThatThrows() => AsyncVoid();

    public static void StartUnobservedFailingTask()
    {
        _ = Task.Run(() => throw new InvalidTimeZoneException("nobody awaited this"));
    }

    public static int ThrowWithBrokenMessage() => throw new BrokenMessageException();

    public static void StartAsyncVoidWithBrokenMessage() => AsyncVoidBroken();

    public static async Task<int> FortyTwoAsync()
    {
        await Task.Yield();
        return 42;
    }

    private static async void AsyncVoidBroken()
    {
        await Task.Yield();
        throw new BrokenMessageException();
    }

    public static void LeakIntoSharedEvent() => AppDomain.CurrentDomain.ProcessExit += OnProcessExit;

    private static void OnProcessExit(object? sender, EventArgs e)
    {
    }

    private static async void AsyncVoid()
    {
        await Task.Yield();
        throw new NotSupportedException("escaped from async void");
    }
}

public static class PoolWork
{
    private static int s_initialized;
    private static int s_calls;

    public static int Square(int x) => x * x;

    public static void Initialize() => s_initialized++;

    public static async Task InitializeAsync()
    {
        await Task.Yield();
        s_initialized += 10;
    }

    public static int Initialized() => s_initialized;

    /// <summary>Counts calls in this isolate's own static: the pool's isolates keep their statics between calls.</summary>
    public static int CountCall(int x)
    {
        s_calls++;
        return s_calls;
    }

    public static int FailOn13(int x) => x == 13 ? throw new ArgumentException($"unlucky {x}") : x;

    public static string SlowOnZero(int x)
    {
        Thread.Sleep(x == 0 ? 300 : 1);
        return Isolate.Current!.Name;
    }

    public static int Spin(int micros)
    {
        long until = System.Diagnostics.Stopwatch.GetTimestamp() + (micros * System.Diagnostics.Stopwatch.Frequency / 1_000_000);
        int n = 0;
        while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
        {
            n++;
        }

        return micros;
    }

    public static async Task<string> DescribeAsync(Point p)
    {
        await Task.Yield();
        return $"{p.X},{p.Y}@{Isolate.Current!.Name}";
    }

    public static Point Double(Point p) => new(p.X * 2, p.Y * 2);

    public static async Task<int> CrashOnMinusOneAsync(int x)
    {
        if (x == -1)
        {
            Failing.StartAsyncVoidThatThrows();
            await Task.Delay(5_000); // the fault lands while this item is still in flight
        }

        return x;
    }

    public static int Throws() => throw new InvalidOperationException("initializer failed");

    // ValueTask shapes of every arity (IsolatePool.SubmitAsync): each result names its arguments in order, and the
    // ones that return nothing append them to this isolate's own log (read with Log).
    private static string s_log = "";

    public static async ValueTask<string> Join0Async()
    {
        await Task.Yield();
        return "-";
    }

    public static async ValueTask<string> Join1Async(int a)
    {
        await Task.Yield();
        return $"{a}";
    }

    public static async ValueTask<string> Join2Async(int a, string b)
    {
        await Task.Yield();
        return $"{a}{b}";
    }

    public static async ValueTask<string> Join3Async(int a, string b, Point c)
    {
        await Task.Yield();
        return $"{a}{b}{c.X},{c.Y}";
    }

    public static async ValueTask<string> Join4Async(int a, string b, Point c, bool d)
    {
        await Task.Yield();
        return $"{a}{b}{c.X},{c.Y}{d}";
    }

    public static async ValueTask Log0Async()
    {
        await Task.Yield();
        s_log += "[-]";
    }

    public static async ValueTask Log1Async(int a)
    {
        await Task.Yield();
        s_log += $"[{a}]";
    }

    public static async ValueTask Log2Async(int a, string b)
    {
        await Task.Yield();
        s_log += $"[{a}{b}]";
    }

    public static async ValueTask Log3Async(int a, string b, Point c)
    {
        await Task.Yield();
        s_log += $"[{a}{b}{c.X},{c.Y}]";
    }

    public static async ValueTask Log4Async(int a, string b, Point c, bool d)
    {
        await Task.Yield();
        s_log += $"[{a}{b}{c.X},{c.Y}{d}]";
    }

    public static async ValueTask FailLaterAsync(int x)
    {
        await Task.Yield();
        throw new ArgumentException($"value task failed on {x}");
    }

    public static string Log() => s_log;
}

/// <summary>An exception whose Message getter itself throws, as badly written user exceptions do.</summary>
public sealed class BrokenMessageException : Exception
{
    public override string Message => throw new InvalidOperationException("Message is broken");
}

/// <summary>Records whether calls ran in the order they were made.</summary>
public static class OrderLog
{
    private static int s_last = -1;
    private static int s_outOfOrder;

    public static void Record(int n)
    {
        if (n < s_last)
        {
            s_outOfOrder++;
        }

        s_last = Math.Max(s_last, n);
    }

    public static int OutOfOrder() => s_outOfOrder;
}
