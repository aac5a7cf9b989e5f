using System.Collections.Concurrent;
using System.Reflection;
using Isolates.Calls;
using Isolates.Diagnostics;
using Isolates.Errors;
using Isolates.Loader;
using Microsoft.Extensions.Logging;

namespace Isolates;

/// <summary>Pre-warmed isolates (spawning in the time of a dequeue) and warm-up code run before an isolate is handed out.</summary>
public sealed partial class Isolate
{
    // One set of spares per combination of the options fixed at creation (see SpareKey).
    private static readonly ConcurrentDictionary<SpareKey, SparePool> SparePools = new();

    /// <summary>The same as <see cref="KeepWarm(int, IsolateOptions?)"/> with the default options.</summary>
    /// <param name="count">How many spares to keep ready, 0 to 64.</param>
    /// <returns>A task that completes when spares above the new count have closed.</returns>
    public static Task KeepWarm(int count) => KeepWarm(count, null);

    /// <summary>
    /// Keeps <paramref name="count"/> isolates made with <paramref name="options"/> ready in the background (context
    /// created, thread running, the entry assembly loaded and every <see cref="IsolateOptions.WarmUp"/> function run),
    /// so <see cref="CreateAsync"/> hands one out instead of building it: spawning then costs little more than taking
    /// it from a queue, and the warm-up work happens off the caller's path. A spare serves a creation whose options
    /// agree on what is fixed when an isolate is built (<see cref="IsolateOptions.Collectible"/>,
    /// <see cref="IsolateOptions.SharedAssemblies"/>, <see cref="IsolateOptions.MaxStackSize"/> and the same
    /// <see cref="IsolateOptions.WarmUp"/> functions in the same order); it takes the rest (name, logger, timeouts,
    /// queue bound) from that creation. Each spare costs the memory of an idle isolate; a non-collectible spare's
    /// context is never freed, even when the spare is closed. A spare whose warm-up throws is logged (through
    /// <paramref name="options"/>' logger factory), closed and never handed out. Lowering the count closes the spares
    /// above it; 0 (the default) keeps none. Each set of options has its own count.
    /// </summary>
    /// <param name="count">How many spares to keep ready, 0 to 64.</param>
    /// <param name="options">The options of the spares; null for the defaults. Their name is not used.</param>
    /// <returns>A task that completes when spares above the new count have closed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or above 64.</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public static Task KeepWarm(int count, IsolateOptions? options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 64);
        options ??= new IsolateOptions();
        options.Validate();
        SparePool pool = SparePools.GetOrAdd(new SpareKey(options), static _ => new SparePool());
        Volatile.Write(ref pool.Options, options with { Name = null });
        Volatile.Write(ref pool.Target, count);
        var closing = new List<Task>();
        while (pool.Spares.Count > count && pool.Spares.TryDequeue(out Isolate? extra))
        {
            closing.Add(extra.CloseAsync());
        }

        Refill(pool);
        return Task.WhenAll(closing);
    }

    /// <summary>How many pre-warmed isolates are ready right now, for all options together.</summary>
    public static int WarmCount => SparePools.Values.Sum(pool => pool.Spares.Count);

    /// <summary>Runs the options' warm-up functions in order on this isolate; the first failure ends it.</summary>
    private async Task RunWarmUpAsync(CancellationToken cancellationToken)
    {
        foreach (Delegate warmUp in _options.WarmUp)
        {
            (ResultShape shape, Type resultType) = IsolateOptions.WarmUpCall(warmUp);
            var call = (Task)WarmUpDispatch.MakeGenericMethod(resultType).Invoke(this, [warmUp, shape, cancellationToken])!;
            await call.ConfigureAwait(false);
        }
    }

    private static readonly MethodInfo WarmUpDispatch = typeof(Isolate).GetMethod(nameof(DispatchWarmUp), BindingFlags.Instance | BindingFlags.NonPublic)!;

    /// <summary>
    /// A warm-up takes the path of the <c>CallAsync</c> overload that matches its shape, so the plans it builds on
    /// both sides are the ones a later call of the same function finds.
    /// </summary>
    private Task<TResult> DispatchWarmUp<TResult>(Delegate warmUp, ResultShape shape, CancellationToken cancellationToken) =>
        Dispatch<Args0, TResult>(warmUp, shape, new Args0(), static (d, _) => InvokeUnwrapped(d), cancellationToken);

    private static object? InvokeUnwrapped(Delegate function)
    {
        try
        {
            return function.DynamicInvoke();
        }
        catch (TargetInvocationException ex) when (ex.InnerException is { } inner)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
            throw;
        }
    }

    /// <summary>CreateAsync's tail when there is warm-up to run: the isolate is returned only once it has run.</summary>
    private async Task<Isolate> WarmUpForCreateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RunWarmUpAsync(cancellationToken).ConfigureAwait(false);
            return this;
        }
        catch
        {
            // Not awaited: the caller learns of the failure now; the close (which may wait for a warm-up that ignores
            // the cancellation, then for the unload check) finishes in the background. The isolate refuses calls at once.
            _ = CloseAsync();
            throw;
        }
    }

    private static Isolate? TryTakeWarm(IsolateOptions options)
    {
        if (SparePools.IsEmpty || !SparePools.TryGetValue(new SpareKey(options), out SparePool? pool))
        {
            return null;
        }

        Isolate? spare;
        while (true)
        {
            if (!pool.Spares.TryDequeue(out spare))
            {
                Refill(pool); // replaces the ended spares skipped below, if any (no take will trigger it)
                return null;
            }

            if (spare.State == IsolateState.Running && !spare._engine.HasEnded)
            {
                break;
            }

            // A child-process spare can end while it waits (killed from outside, its process crashed): never hand it out.
            _ = spare.CloseAsync();
        }

        spare.Adopt(options);
        Refill(pool, afterTake: true);
        return spare;
    }

    private static void Refill(SparePool pool, bool afterTake = false)
    {
        if (pool.Spares.Count >= Volatile.Read(ref pool.Target) || Interlocked.Exchange(ref pool.Refilling, 1) != 0)
        {
            return;
        }

        using (ExecutionContext.IsFlowSuppressed() ? default : ExecutionContext.SuppressFlow())
        {
            if (afterTake)
            {
                // Making the next spare (a context, a thread, the warm-up's JIT) right away competes for the cores with
                // the very request that took this one, whose first call follows now: on 2 busy cores that doubled it.
                // A short pause lets that call run first; the spare is ready a few milliseconds later.
                _ = Task.Delay(RefillPause).ContinueWith(static (_, p) => RefillAsync((SparePool)p!), pool, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            else
            {
                ThreadPool.UnsafeQueueUserWorkItem(static p => _ = RefillAsync(p), pool, preferLocal: false);
            }
        }
    }

    private static readonly TimeSpan RefillPause = TimeSpan.FromMilliseconds(2);

    private static async Task RefillAsync(SparePool pool)
    {
        bool failed = false;
        try
        {
            while (pool.Spares.Count < Volatile.Read(ref pool.Target))
            {
                IsolateOptions options = Volatile.Read(ref pool.Options);
                var spare = new Isolate(options);
                await spare.StartAsync(listed: false, CancellationToken.None).ConfigureAwait(false);
                spare._engine.PrepareSpare();

                if (options.WarmUp.Count > 0)
                {
                    try
                    {
                        await spare.RunWarmUpAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        // Never handed out, and not retried in a loop: the next creation that finds no spare builds
                        // its own isolate (and fails with this error), and its take triggers the next refill.
                        failed = true;
                        IsolateExecutionException remote = ex as IsolateExecutionException ?? ExceptionTransfer.ToRemote(ex, spare.Id, spare.Name);
                        spare.TryLog(static (logger, isolate, error) => Log.SpareWarmUpFailed(logger, isolate.Name, isolate.Id, error!), remote);
                        _ = spare.CloseAsync();
                        return;
                    }
                }

                if (pool.Spares.Count >= Volatile.Read(ref pool.Target))
                {
                    _ = spare.CloseAsync(); // the count was lowered while this one warmed up
                    return;
                }

                pool.Spares.Enqueue(spare);
            }
        }
        catch (Exception ex)
        {
            failed = true; // e.g. no thread could be started: creations build their own and report it
            SafeLogger.Create(Volatile.Read(ref pool.Options).LoggerFactory, "Isolates.Isolate").LogWarning(ex, "Could not make a pre-warmed isolate");
        }
        finally
        {
            Volatile.Write(ref pool.Refilling, 0);
            if (!failed)
            {
                Refill(pool); // a spare taken between the loop's last check and the flag's reset is replaced too
            }
        }
    }

    /// <summary>Gives a spare the caller's options, name and logger, and lists it as a live isolate.</summary>
    private void Adopt(IsolateOptions options)
    {
        _options = options;
        Name = options.Name ?? $"isolate-{Id}";
        _logger = SafeLogger.Create(options.LoggerFactory, "Isolates.Isolate");
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _callGate = CallGateFor(options);
        _engine.Adopt(options); // a child's before any call of the creator's: frames keep their order

        List();
        if (Volatile.Read(ref _stopRequested) != 0)
        {
            // A spare child ended between its take and its listing: its end (which stops before it unlists) may have
            // unlisted it before it was listed here, and must not leave it listed.
            Live.TryRemove(Id, out _);
        }

        TryLog(static (logger, isolate, _) => Log.Started(logger, isolate.Name, isolate.Id));
    }

    /// <summary>The spares kept for one <see cref="SpareKey"/>.</summary>
    private sealed class SparePool
    {
        public readonly ConcurrentQueue<Isolate> Spares = new();
        public IsolateOptions Options = new();
        public int Target;
        public int Refilling;
    }

    /// <summary>
    /// What a spare must agree on with the creation it serves: the options that shape the isolate when it is built
    /// (its context, its thread, the code already run in it). Everything else is adopted at hand-out.
    /// </summary>
    private sealed class SpareKey : IEquatable<SpareKey>
    {
        private readonly bool _collectible;
        private readonly int _maxStackSize;
        private readonly string[] _shared;
        private readonly Delegate[] _warmUp;
        private readonly IsolatePlacement _placement;
        private readonly long _memoryLimit;

        public SpareKey(IsolateOptions options)
        {
            _collectible = options.Collectible;
            _maxStackSize = options.MaxStackSize;
            _shared = options.SharedAssemblies.Count == 0 ? [] : [.. options.SharedAssemblies.Select(n => n.ToUpperInvariant()).Distinct().Order(StringComparer.Ordinal)];
            _warmUp = options.WarmUp.Count == 0 ? [] : [.. options.WarmUp];
            _placement = options.Placement;
            _memoryLimit = options.MemoryLimit;
        }

        public bool Equals(SpareKey? other) =>
            other is not null && _placement == other._placement && _memoryLimit == other._memoryLimit && _collectible == other._collectible && _maxStackSize == other._maxStackSize &&
            _shared.AsSpan().SequenceEqual(other._shared) && _warmUp.AsSpan().SequenceEqual(other._warmUp);

        public override bool Equals(object? obj) => Equals(obj as SpareKey);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(_collectible);
            hash.Add(_maxStackSize);
            hash.Add(_placement);
            hash.Add(_memoryLimit);
            foreach (string name in _shared)
            {
                hash.Add(name);
            }

            foreach (Delegate warmUp in _warmUp)
            {
                hash.Add(warmUp.Method);
            }

            return hash.ToHashCode();
        }
    }
}
