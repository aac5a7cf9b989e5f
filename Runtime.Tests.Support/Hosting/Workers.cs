using System.Threading.Channels;

namespace Isolates.Tests.Support.Hosting;

/// <summary>Commands the host sends to a <see cref="ScriptedWorker"/>.</summary>
public static class WorkerCommand
{
    public const int Throw = 1;
    public const int Return = 2;
    public const int FaultOutsideCall = 3;
    public const int Deadlock = 4;
}

/// <summary>
/// A supervised worker driven by the test through a host channel: it reports each start through its statics (which
/// are per isolate) and does what each command says.
/// </summary>
public sealed class ScriptedWorker(ChannelReader<int> commands)
{
    private static int s_starts;

    public static int StartsInThisIsolate() => s_starts;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        s_starts++;
        while (await commands.WaitToReadAsync(cancellationToken))
        {
            if (!commands.TryRead(out int command))
            {
                continue;
            }

            switch (command)
            {
                case WorkerCommand.Throw:
                    throw new InvalidOperationException("scripted failure");
                case WorkerCommand.Return:
                    return;
                case WorkerCommand.FaultOutsideCall:
                    FaultLater();
                    break;
                case WorkerCommand.Deadlock:
                    _ = YieldOnceAsync().Result; // blocks the isolate's thread on a continuation queued behind it
                    break;
            }
        }
    }

    private static async Task<int> YieldOnceAsync()
    {
        await Task.Yield();
        return 1;
    }

    private static async void FaultLater()
    {
        await Task.Yield();
        throw new InvalidOperationException("scripted fault outside any call");
    }
}

/// <summary>Waits for its cancellation and then returns normally (the well-behaved BackgroundService shape).</summary>
public sealed class IdleWorker
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // asked to stop
        }
    }
}

/// <summary>Throws as soon as it runs.</summary>
public sealed class CrashingWorker
{
    public Task RunAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("crashing worker");
}

/// <summary>Returns at once: its job is done.</summary>
public sealed class FinishingWorker
{
    public ValueTask RunAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>Its constructor throws, so it cannot start.</summary>
public sealed class BrokenConstructorWorker
{
    public BrokenConstructorWorker() => throw new InvalidOperationException("cannot construct");

    public Task RunAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Reads numbers from its channel until it completes, slowly enough that draining takes a moment.</summary>
public sealed class ConsumingWorker(ChannelReader<int> input)
{
    public static int Consumed { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (int _ in input.ReadAllAsync(CancellationToken.None))
        {
            Consumed++;
            await Task.Delay(1, CancellationToken.None);
        }
    }
}

/// <summary>Keeps a handler on a process-wide event, so its isolate can never unload.</summary>
public sealed class LeakingWorker
{
    public Task RunAsync(CancellationToken cancellationToken)
    {
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        return Task.CompletedTask;
    }

    private static void OnProcessExit(object? sender, EventArgs e)
    {
    }
}

/// <summary>Not a worker: RunAsync takes the wrong parameters.</summary>
public sealed class WrongEntryPointWorker
{
    public Task RunAsync(int count) => Task.Delay(count);
}

/// <summary>Not a worker: no RunAsync at all.</summary>
public sealed class NoEntryPointWorker
{
    public Task ExecuteAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Isolate-side functions for hosting tests.</summary>
public static class HostingFunctions
{
    public static void FailingInitializer() => throw new InvalidOperationException("initializer failed");

    /// <summary>An initializer that takes its time, so a host's start-up is still running when the test acts.</summary>
    public static void SlowInitializer() => Thread.Sleep(300);
}

/// <summary>Ignores its cancellation: it waits without watching the token (but does not block the isolate's thread).</summary>
public sealed class StubbornWorker
{
    public Task RunAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, CancellationToken.None);
}

/// <summary>
/// Behaves by the attempt number the host gives it at each start: attempt 1 throws from RunAsync, attempt 2 throws
/// from its constructor (so the restart itself fails), later attempts run until stopped.
/// </summary>
public sealed class AttemptWorker
{
    private readonly int _attempt;

    public AttemptWorker(int attempt)
    {
        if (attempt == 2)
        {
            throw new InvalidOperationException("constructor failed on attempt 2");
        }

        _attempt = attempt;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_attempt == 1)
        {
            throw new InvalidOperationException("run failed on attempt 1");
        }

        await new IdleWorker().RunAsync(cancellationToken);
    }
}

/// <summary>
/// Writes one item to a host channel at every start, then faults outside any call (an async void that throws), so its
/// supervisor restarts it with the same channel's writer.
/// </summary>
public sealed class WriteThenFaultWorker(ChannelWriter<int> output)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await output.WriteAsync(1, cancellationToken);
        FaultSoon();
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    private static async void FaultSoon()
    {
        await Task.Delay(20);
        throw new InvalidOperationException("writer faulted outside any call");
    }
}

/// <summary>Keeps its isolate's thread busy (synchronously) for 1.5 s, ignoring its token, then returns.</summary>
public sealed class BlockingWorker
{
    public Task RunAsync(CancellationToken cancellationToken)
    {
        Thread.Sleep(1500);
        return Task.CompletedTask;
    }
}

/// <summary>Initializers for start-up races.</summary>
public static class StartupFunctions
{
    /// <summary>A start-up that takes 4 s (and does not watch any token).</summary>
    public static void VerySlowInitializer() => Thread.Sleep(4000);
}

/// <summary>The two ends a <see cref="ForwardingWorker"/> uses.</summary>
[MessagePack.MessagePackObject]
public sealed record ForwardingEnds(
    [property: MessagePack.Key(0)] ChannelReader<int> Input,
    [property: MessagePack.Key(1)] ChannelWriter<int> Output,
    [property: MessagePack.Key(2)] int FaultEvery);

/// <summary>
/// Forwards every item from its input to its output with ReadAllAsync, and faults (outside any call, like a crash in a
/// callback) after forwarding every <see cref="ForwardingEnds.FaultEvery"/>-th item, so the host restarts it mid-stream.
/// </summary>
public sealed class ForwardingWorker(ForwardingEnds ends)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (int item in ends.Input.ReadAllAsync(cancellationToken))
        {
            if (!ends.Output.TryWrite(item))
            {
                throw new InvalidOperationException($"output refused {item}");
            }

            if (item % ends.FaultEvery == ends.FaultEvery - 1)
            {
                Crash(item);
            }
        }
    }

    private static async void Crash(int item)
    {
        await Task.Yield();
        throw new InvalidOperationException($"crashed after forwarding {item}");
    }
}
