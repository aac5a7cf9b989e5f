using System.Collections.Concurrent;
using System.Reflection;
using Isolates.Diagnostics;
using Isolates.Loader;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isolates;

/// <summary>Pre-warmed isolates: spawning in the time of a dequeue.</summary>
public sealed partial class Isolate
{
    private static readonly ConcurrentQueue<Isolate> Spares = new();
    private static int s_keepWarm;
    private static int s_refilling;

    /// <summary>
    /// Keeps <paramref name="count"/> isolates ready in the background (context created, thread running, the entry
    /// assembly already loaded), so <see cref="CreateAsync"/> hands one out instead of building it: spawning then
    /// costs little more than taking it from a queue, and the warm-up work happens off the caller's path. Used for
    /// creations whose options allow it (collectible, no extra shared assemblies, default stack size); others are
    /// built as usual. Each spare costs the memory of an idle isolate. Lowering the count closes the spares above
    /// it; 0 (the default) keeps none.
    /// </summary>
    /// <param name="count">How many spares to keep ready, 0 to 64.</param>
    /// <returns>A task that completes when spares above the new count have closed.</returns>
    public static Task KeepWarm(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 64);
        Volatile.Write(ref s_keepWarm, count);
        var closing = new List<Task>();
        while (Spares.Count > count && Spares.TryDequeue(out Isolate? extra))
        {
            closing.Add(extra.CloseAsync());
        }

        Refill();
        return Task.WhenAll(closing);
    }

    /// <summary>How many pre-warmed isolates are ready right now.</summary>
    public static int WarmCount => Spares.Count;

    private static Isolate? TryTakeWarm(IsolateOptions options)
    {
        if (!options.Collectible || options.SharedAssemblies.Count > 0 || options.MaxStackSize != 0 || !Spares.TryDequeue(out Isolate? spare))
        {
            return null;
        }

        spare.Adopt(options);
        Refill();
        return spare;
    }

    private static void Refill()
    {
        if (Spares.Count >= Volatile.Read(ref s_keepWarm) || Interlocked.Exchange(ref s_refilling, 1) != 0)
        {
            return;
        }

        using (ExecutionContext.IsFlowSuppressed() ? default : ExecutionContext.SuppressFlow())
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static _ =>
                {
                    try
                    {
                        while (Spares.Count < Volatile.Read(ref s_keepWarm))
                        {
                            var spare = new Isolate(new IsolateOptions());
                            spare.Start(listed: false);
                            spare.Post(static s => ((Isolate)s!).PreloadEntryAssembly(), spare);
                            Spares.Enqueue(spare);
                        }
                    }
                    finally
                    {
                        Volatile.Write(ref s_refilling, 0);
                    }
                },
                null);
        }
    }

    /// <summary>Gives a spare the caller's options, name and logger, and lists it as a live isolate.</summary>
    private void Adopt(IsolateOptions options)
    {
        _options = options;
        Name = options.Name ?? $"isolate-{Id}";
        _logger = options.LoggerFactory?.CreateLogger("Isolates.Isolate") ?? NullLogger.Instance;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _callGate = CallGateFor(options);
        try
        {
            if (_thread is { } thread)
            {
                thread.Name = $"isolate:{Name}";
            }
        }
        catch (InvalidOperationException)
        {
            // the thread's name is cosmetic
        }

        List();
        TryLog(static (logger, isolate, _) => Log.Started(logger, isolate.Name, isolate.Id));
    }

    /// <summary>Loads the application's own assembly ahead of the first call, where most called functions live.</summary>
    private void PreloadEntryAssembly()
    {
        if (Assembly.GetEntryAssembly() is { } entry && _context is { } context && !SharingPolicy.IsShared(entry, context.ExtraShared))
        {
            try
            {
                context.LoadFromAssemblyName(entry.GetName());
            }
            catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
            {
                // nothing to gain; the first call loads what it needs
            }
        }
    }
}
