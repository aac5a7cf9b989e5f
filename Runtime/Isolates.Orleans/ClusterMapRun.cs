using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Isolates.Processes;
using Isolates.Wire;
using Orleans.Runtime;

namespace Isolates.Orleans;

/// <summary>
/// One map over a cluster pool. Each silo gets <see cref="ClusterIsolatePoolOptions.ChunksInFlightPerSilo"/> loops,
/// each taking a chunk (a lost chunk to run again first, else the next items), sending it to the silo's front-door
/// grain and delivering its results, so a fast silo takes more chunks and a slow one fewer. Chunk sizes follow the
/// time per item each silo reports. Silos that join while the map runs get loops of their own.
/// <para>
/// Every chunk taken is counted in <c>_inFlight</c> from before it is taken until it is delivered, failed, or queued
/// again (which happens before the count drops), so "nothing left" (the input ended, no chunk queued, none in flight)
/// can only be seen once every item was delivered.
/// </para>
/// </summary>
internal sealed class ClusterMapRun<T, TResult>
{
    private readonly ClusterIsolatePool _pool;
    private readonly ClusterFunction _function;
    private readonly IClusterFeed<T> _feed;
    private readonly Action<long, TResult[]> _deliver;
    private readonly CancellationToken _caller;
    private readonly CancellationTokenSource _stop;
    private readonly ConcurrentQueue<PendingChunk<T>> _again = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<SiloAddress, SiloRun> _silos = [];
    private readonly List<Task> _loops = []; // silo loops, the membership watch and any rescue: all awaited before the map reports
    private readonly List<long> _lost = [];
    private readonly List<string> _lostSilos = [];
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string? _traceParent = Activity.Current?.Id;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _failure;
    private bool _lostFails;
    private int _inFlight;
    private int _itemsPerChunkCap = int.MaxValue; // lowered when chunks had to be split to fit in an Orleans message

    public ClusterMapRun(ClusterIsolatePool pool, ClusterFunction function, IClusterFeed<T> feed, Action<long, TResult[]> deliver, CancellationToken cancellationToken)
    {
        _pool = pool;
        _function = function;
        _feed = feed;
        _deliver = deliver;
        _caller = cancellationToken;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    private ClusterIsolatePoolOptions Options => _pool.Options;

    public async Task RunAsync()
    {
        try
        {
            _caller.ThrowIfCancellationRequested();
            IReadOnlyList<SiloPool> silos = await _pool.SilosAsync(_stop.Token).ConfigureAwait(false);
            if (silos.Count == 0)
            {
                throw Unavailable();
            }

            foreach (SiloPool silo in silos)
            {
                AddSilo(silo);
            }

            Track(WatchMembershipAsync());
            await _done.Task.WaitAsync(_stop.Token).ConfigureAwait(false);
            await FinishAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            await FinishAsync().ConfigureAwait(false);
        }
        finally
        {
            await _feed.DisposeAsync().ConfigureAwait(false);
            _stop.Dispose();
        }
    }

    /// <summary>Stops every loop (a cancelled chunk is cancelled on its silo too), waits for them, then reports how the map ended.</summary>
    private async Task FinishAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        int awaited = 0;
        while (true)
        {
            Task[] loops;
            lock (_lock)
            {
                if (_loops.Count == awaited)
                {
                    break; // a loop ending may have started a rescue: wait for that too
                }

                loops = [.. _loops];
                awaited = loops.Length;
            }

            await Task.WhenAll(loops).ConfigureAwait(false); // they catch everything: this never throws
        }

        Exception? failure;
        lock (_lock)
        {
            if (_lostFails && Options.OnSiloLost == SiloLossBehavior.RerunElsewhere)
            {
                _lost.AddRange(_again.SelectMany(c => c.Indexes)); // lost chunks queued to run again when no silo was left to run them
            }

            failure = _failure ?? (_lostFails ? LostException() : null);
        }

        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        _caller.ThrowIfCancellationRequested();
        Debug.Assert(_done.Task.IsCompleted, "a map ended with work left, without a failure or a cancellation");
    }

    private void Track(Task task)
    {
        lock (_lock)
        {
            _loops.Add(task);
        }
    }

    private void AddSilo(SiloPool silo)
    {
        lock (_lock)
        {
            if (_stop.IsCancellationRequested || _silos.ContainsKey(silo.Address))
            {
                return; // a silo lost in this map is never taken back: a restarted silo has a new address
            }

            var run = new SiloRun(silo);
            _silos.Add(silo.Address, run);
            for (int i = 0; i < Options.ChunksInFlightPerSilo; i++)
            {
                _loops.Add(Task.Run(() => SiloLoopAsync(run)));
            }
        }
    }

    /// <summary>
    /// Looks at membership every <see cref="ClusterIsolatePoolOptions.MembershipRefreshInterval"/>: silos that joined
    /// take work from then on, and a silo of the map that membership declared dead loses the chunks it was running at
    /// once (Orleans's response timeout does not bound a chunk call, so without this a map would wait for the reply of
    /// a crashed silo). Only <see cref="SiloStatus.Dead"/> counts: a silo shutting down still answers its chunks, and a
    /// silo missing from a look-up may only be missing from that gateway's view so far.
    /// </summary>
    private async Task WatchMembershipAsync()
    {
        while (true)
        {
            try
            {
                await Task.Delay(Options.MembershipRefreshInterval, _stop.Token).ConfigureAwait(false);
                Dictionary<SiloAddress, SiloStatus> hosts = await _pool.HostsAsync(_stop.Token).ConfigureAwait(false);
                List<SiloRun> dead;
                List<SiloAddress> joined;
                lock (_lock)
                {
                    dead = [.. _silos.Values.Where(s => s.GoneReason is null && hosts.TryGetValue(s.Pool.Address, out SiloStatus status) && status == SiloStatus.Dead)];
                    joined = [.. hosts.Where(h => h.Value == SiloStatus.Active && !_silos.ContainsKey(h.Key)).Select(h => h.Key)];
                }

                foreach (SiloRun silo in dead)
                {
                    Log.SiloDead(_pool.Logger, _pool.Name, silo.Pool.Address.ToString());
                    Gone(silo, $"membership declared silo {silo.Pool.Address} dead");
                }

                bool anyAlive;
                lock (_lock)
                {
                    anyAlive = _silos.Values.Any(s => s.Alive);
                }

                if (dead.Count > 0 && !anyAlive)
                {
                    Track(RescueAsync()); // every silo of the map is gone (some maybe with no chunk in flight to start a rescue)
                }

                if (joined.Count > 0)
                {
                    foreach (SiloPool silo in await _pool.PoolsOnAsync(joined, _stop.Token).ConfigureAwait(false))
                    {
                        Log.SiloJoined(_pool.Logger, _pool.Name, silo.Address.ToString(), silo.Size);
                        AddSilo(silo);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return; // the map is over
            }
            catch (Exception ex)
            {
                Log.MembershipLookupFailed(_pool.Logger, _pool.Name, ex); // the map goes on with the silos it has, and looks again
            }
        }
    }

    /// <summary>
    /// Takes a silo out of the map for good: it gets no more chunks, and every chunk in flight on it is lost at once
    /// (its loop stops waiting for the reply), so a map names all of a dead silo's chunks, not only the first to fail.
    /// </summary>
    private void Gone(SiloRun silo, string reason)
    {
        lock (_lock)
        {
            if (silo.GoneReason is not null)
            {
                return;
            }

            silo.GoneReason = reason;
            silo.Alive = false;
        }

        _pool.ForgetSilos();
        silo.Gone.Cancel(); // outside the lock: the silo's loops run OnLost for their chunks
    }

    private async Task SiloLoopAsync(SiloRun silo)
    {
        try
        {
            while (!_stop.IsCancellationRequested && silo.Alive)
            {
                TaskCompletionSource changed = Volatile.Read(ref _changed);
                Interlocked.Increment(ref _inFlight); // counted before it is taken (see the class summary)
                PendingChunk<T>? chunk;
                if (!_again.TryDequeue(out chunk))
                {
                    chunk = await _feed.TakeAsync(ChunkSizeFor(silo), _stop.Token).ConfigureAwait(false);
                }

                if (chunk is null)
                {
                    if (Interlocked.Decrement(ref _inFlight) == 0 && _again.IsEmpty)
                    {
                        _done.TrySetResult(); // the input ended and every chunk was delivered
                        return;
                    }

                    await changed.Task.WaitAsync(_stop.Token).ConfigureAwait(false);
                    continue;
                }

                try
                {
                    await RunChunkAsync(silo, chunk).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                    Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // the map was cancelled, failed elsewhere, or finished
        }
        catch (Exception ex)
        {
            Fail(ex); // the input stream threw, or a value could not be encoded
        }
    }

    private async Task RunChunkAsync(SiloRun silo, PendingChunk<T> chunk)
    {
        chunk.Encoded ??= Encode(chunk.Items);
        while (chunk.Encoded.Length > silo.Pool.MaxChunkBytes)
        {
            // Too large for one Orleans message (which would close the connection, not fail the call): send half now
            // and queue the rest, which counts as in flight through this chunk until the queue holds it.
            if (chunk.Items.Length == 1)
            {
                Fail(new IsolateSerializationException(
                    $"Item {chunk.First} of this map of {_function.DisplayName} encodes to {chunk.Encoded.Length:N0} bytes, more than the {silo.Pool.MaxChunkBytes:N0} bytes one Orleans message to silo {silo.Pool.Address} can carry. Pass smaller items (a key or a path instead of the data), or raise MessagingOptions.MaxMessageBodySize on the silos and clients."));
                return;
            }

            int half = chunk.Items.Length / 2;
            _again.Enqueue(new PendingChunk<T>(chunk.First + half, chunk.Items[half..]));
            chunk = new PendingChunk<T>(chunk.First, chunk.Items[..half]);
            chunk.Encoded = Encode(chunk.Items);
            InterlockedMin(ref _itemsPerChunkCap, half); // the next chunks are sized to fit at once
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        var request = new ChunkRequest
        {
            Assembly = _function.Header.Assembly,
            Token = _function.Header.Token,
            GenericAssemblies = [.. _function.Header.GenericArguments.Select(a => a.Assembly)],
            GenericTokens = [.. _function.Header.GenericArguments.Select(a => a.Token)],
            Shape = (byte)_function.Header.Shape,
            Items = chunk.Encoded,
            Count = chunk.Items.Length,
            TraceParent = _traceParent,
            FirstIndex = chunk.First,
            MaxReplyBytes = _pool.MaxMessageBytes,
        };

        if (silo.Gone.IsCancellationRequested)
        {
            _again.Enqueue(chunk); // taken just as its silo left the map: never sent, so it goes elsewhere (or is named if none is left)
            return;
        }

        ChunkReply reply;
        using var call = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, silo.Gone.Token);
        Task<ChunkReply> sent = silo.Pool.Grain.RunChunkAsync(request, call.Token);
        try
        {
            // No response timeout bounds this wait (the grain method has none worth the name): a long chunk on a live
            // silo is waited for, and a dead silo's chunk is given up when membership says so (Gone).
            reply = await sent.WaitAsync(silo.Gone.Token).ConfigureAwait(false);
        }
        catch (Exception) when (silo.Gone.IsCancellationRequested && sent.IsCompletedSuccessfully)
        {
            reply = sent.Result; // answered just as its silo left the map: the results are good
        }
        catch (Exception) when (silo.Gone.IsCancellationRequested)
        {
            // The silo left the map (membership declared it dead, or another of its chunks was lost) while this chunk
            // ran there: it may have run, and its reply will not come. Checked before the map's own stop, so a failing
            // map still names it.
            ClusterIsolatePool.Observe(sent);
            OnLost(silo, chunk, silo.GoneReason ?? "its silo left the map", mayHaveRun: true);
            return;
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            throw; // cancelled on the silo too; its results are not wanted
        }
        catch (Exception ex)
        {
            if (_stop.IsCancellationRequested)
            {
                throw new OperationCanceledException(_stop.Token); // the map is over: however the call ended, its chunk is not wanted
            }

            // A silo that left before the chunk was sent (still in the cached list of silos) refuses it at placement:
            // nothing ran, so it goes elsewhere even under FailMap.
            OnLost(silo, chunk, $"{ex.GetType().Name}: {ex.Message}", mayHaveRun: !SiloTargetedPlacementDirector.IsRefusal(ex));
            return;
        }

        if (reply.Outcome != ChunkOutcome.Done && _stop.IsCancellationRequested)
        {
            return; // the map ended (cancelled, or failed elsewhere) while this chunk ran: how it ended changes nothing
        }

        switch (reply.Outcome)
        {
            case ChunkOutcome.Done:
                Deliver(silo, chunk, reply);
                break;
            case ChunkOutcome.Lost:
                OnLost(silo, chunk, reply.Reason ?? "its pool cut the chunk short", mayHaveRun: true);
                break;
            case ChunkOutcome.NotRun:
                OnLost(silo, chunk, reply.Reason ?? "its pool is not running", mayHaveRun: false);
                break;
            default:
                Fail(ErrorOf(reply, chunk));
                break;
        }
    }

    private void Deliver(SiloRun silo, PendingChunk<T> chunk, ChunkReply reply)
    {
        TResult[] results;
        try
        {
            var codecs = new Codec[chunk.Items.Length];
            Array.Fill(codecs, _function.ResultCodec);
            var values = new object?[codecs.Length];
            Payload.Decode(reply.Results ?? [], codecs, values);
            results = [.. values.Select(v => (TResult)v!)];
        }
        catch (Exception ex)
        {
            Fail(ex as IsolateException ?? new IsolateSerializationException($"Rebuilding the results of items {chunk.First} to {chunk.First + chunk.Items.Length - 1} as {typeof(TResult)} failed: {ex.GetType().Name}: {ex.Message}", ex));
            return;
        }

        double perItem = (double)reply.ElapsedTicks / chunk.Items.Length;
        double known = silo.TicksPerItem;
        silo.TicksPerItem = known == 0 ? perItem : (known * 0.5) + (perItem * 0.5);
        Interlocked.Add(ref silo.Items, chunk.Items.Length);
        if (reply.Results is { Length: > 0 } bytes)
        {
            // Sizing counts time, but a reply must also fit in one Orleans message: cap chunks at half of what fits.
            long perResult = Math.Max(1, bytes.Length / chunk.Items.Length);
            InterlockedMin(ref _itemsPerChunkCap, (int)Math.Clamp(silo.Pool.MaxChunkBytes / perResult / 2, 1, int.MaxValue));
        }

        if (!_stop.IsCancellationRequested)
        {
            _deliver(chunk.First, results);
        }
    }

    private int ChunkSizeFor(SiloRun silo)
    {
        int cap = Volatile.Read(ref _itemsPerChunkCap);
        if (Options.ChunkSize > 0)
        {
            return Math.Min(Options.ChunkSize, cap);
        }

        double perItem = silo.TicksPerItem;
        int size = perItem <= 0 ? silo.Pool.Size : (int)Math.Clamp(Options.TargetChunkDuration.Ticks / perItem, 1, 65_536);
        if (_feed.Remaining is long remaining)
        {
            // Near the end, smaller chunks keep every silo busy until the last one finishes.
            int slots;
            lock (_lock)
            {
                slots = Math.Max(1, _silos.Values.Count(s => s.Alive) * Options.ChunksInFlightPerSilo);
            }

            size = (int)Math.Min(size, Math.Max(1, (remaining + slots - 1) / slots));
        }

        return Math.Min(size, cap);
    }

    private static void InterlockedMin(ref int target, int value)
    {
        int seen = Volatile.Read(ref target);
        while (value < seen)
        {
            int found = Interlocked.CompareExchange(ref target, value, seen);
            if (found == seen)
            {
                return;
            }

            seen = found;
        }
    }

    private byte[] Encode(T[] items)
    {
        var codecs = new Codec[items.Length];
        Array.Fill(codecs, _function.ItemCodec);
        var values = new object?[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            values[i] = items[i];
        }

        byte[] bytes = Payload.Encode(codecs, values, out object[]? attachments);
        if (attachments is { Length: > 0 })
        {
            throw new NotShareableException(typeof(T), string.Empty,
                $"{typeof(T)} holds channel ends or other values that pass by reference; only values that travel as bytes can cross to another silo. Pass the data itself.");
        }

        return bytes;
    }

    private Exception ErrorOf(ChunkReply reply, PendingChunk<T> chunk)
    {
        Exception? error;
        try
        {
            error = RemoteError.Decode(reply.Error ?? [], reply.IsolateId, reply.IsolateName ?? _pool.Name);
        }
        catch (Exception ex)
        {
            return new IsolateSerializationException($"A silo's error for items {chunk.First} to {chunk.First + chunk.Items.Length - 1} could not be read: {ex.Message}", ex);
        }

        if (error is IsolateExecutionException execution && reply.ItemIndex is long local)
        {
            execution.ItemIndex = chunk.First + local;
        }

        return error ?? new OperationCanceledException($"The function {_function.DisplayName} was cancelled on its silo (items {chunk.First} to {chunk.First + chunk.Items.Length - 1}) although this map was not.");
    }

    private void OnLost(SiloRun silo, PendingChunk<T> chunk, string reason, bool mayHaveRun)
    {
        bool rerun = !mayHaveRun || Options.OnSiloLost == SiloLossBehavior.RerunElsewhere;
        bool anyAlive;
        lock (_lock)
        {
            silo.Alive = false;
            anyAlive = _silos.Values.Any(s => s.Alive);
            if (!rerun)
            {
                _lost.AddRange(chunk.Indexes);
                if (!_lostSilos.Contains(silo.Pool.Address.ToString()))
                {
                    _lostSilos.Add(silo.Pool.Address.ToString());
                }

                _lostFails = true;
            }
        }

        _pool.ForgetSilos();
        Log.ChunkLost(_pool.Logger, _pool.Name, silo.Pool.Address.ToString(), chunk.First, chunk.First + chunk.Items.Length - 1, reason, rerun ? "runs again on another silo" : "fails the map");
        if (rerun)
        {
            _again.Enqueue(chunk); // before this loop's chunk stops counting as in flight
        }

        if (mayHaveRun)
        {
            // Its other chunks in flight are in the same doubt: lost with it now (before a failing map stops its
            // loops), rather than cancelled and left out of LostItemIndexes.
            Gone(silo, reason);
        }

        if (!rerun)
        {
            _done.TrySetResult(); // stops the map; FinishAsync throws ClusterSiloLostException
            return;
        }

        if (!anyAlive)
        {
            Track(RescueAsync());
        }
    }

    /// <summary>Every silo of the map is gone with work left: look for others at once, or fail naming what is left.</summary>
    private async Task RescueAsync()
    {
        IReadOnlyList<SiloPool> silos = [];
        try
        {
            silos = await _pool.DiscoverAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // fails below like a cluster with no silo left
        }

        int added = 0;
        foreach (SiloPool silo in silos)
        {
            lock (_lock)
            {
                if (_silos.ContainsKey(silo.Address))
                {
                    continue;
                }
            }

            AddSilo(silo);
            added++;
        }

        if (added == 0 && !_stop.IsCancellationRequested)
        {
            lock (_lock)
            {
                _lost.AddRange(_again.SelectMany(c => c.Indexes));
                _lostSilos.AddRange(_silos.Values.Select(s => s.Pool.Address.ToString()).Where(s => !_lostSilos.Contains(s)));
                _lostFails = true;
            }

            _done.TrySetResult();
        }
    }

    private void Fail(Exception failure)
    {
        lock (_lock)
        {
            _failure ??= failure;
        }

        _done.TrySetResult();
    }

    private ClusterSiloLostException LostException()
    {
        long[] lost = [.. _lost.Distinct().Order()];
        string action = Options.OnSiloLost == SiloLossBehavior.RerunElsewhere
            ? "No silo that runs the pool was left to run them again."
            : "They may or may not have run; the map does not run them twice (SiloLossBehavior.FailMap, the default). Run the map again, or set ClusterIsolatePoolOptions.OnSiloLost to RerunElsewhere if the function is idempotent.";
        return new ClusterSiloLostException(
            _pool.Name,
            [.. _lostSilos],
            lost,
            $"Cluster isolate pool '{_pool.Name}': silo(s) {string.Join(", ", _lostSilos)} left while running {lost.Length} item(s) of this map of {_function.DisplayName}: items {ClusterSiloLostException.Ranges(lost)}. {action}");
    }

    private ClusterPoolUnavailableException Unavailable() => new(
        _pool.Name,
        $"No active silo of the cluster runs an isolate pool named '{_pool.Name}'. Call siloBuilder.AddIsolatePool(\"{_pool.Name}\", size) on the silos, and check that they have joined the cluster.");

    private sealed class SiloRun(SiloPool pool)
    {
        public SiloPool Pool { get; } = pool;

        public volatile bool Alive = true;

        /// <summary>Cancelled when the silo leaves the map for good (<see cref="GoneReason"/> says why): its chunks in flight are lost.</summary>
        public readonly CancellationTokenSource Gone = new();

        public string? GoneReason;

        public double TicksPerItem;

        public long Items;
    }
}
