using System.Collections.Concurrent;
using Isolates.Calls;
using Isolates.Tests.Support;
using static Isolates.Tests.Scheduling.Schedule;

namespace Isolates.Tests.Scheduling;

/// <summary>
/// The call gate (<see cref="CallGate"/>, <see cref="IsolateOptions.MaxQueuedCalls"/>) under controlled scheduling:
/// entering, giving places back, cancelling waiting calls and closing, all racing. Invariants: never more calls hold a
/// place than there are places; each call is admitted or refused at most once, never both; a call that is not
/// cancelled is admitted or refused, never left waiting; once everything is given back the gate has all its places.
/// </summary>
[NonParallelizable]
public sealed class CallGateScheduleTests
{
    [Test]
    public Task TryEnterAndRelease_RacingCancellationAndClose_CountsExactAndNoCallLeftWaiting() => ExploreAsync(100, async seed =>
    {
        int places = 1 + (seed % 3);
        bool closes = seed % 3 == 0;
        var gate = new CallGate(places, () => new IsolateClosedException(0, "gate", "closed by the test", null));
        var toRun = new BlockingCollection<FakeCall>();
        var state = new GateState(places, toRun);
        var all = new ConcurrentQueue<FakeCall>();
        Task runner = Participants.Start("runner", () =>
        {
            // Stands for the isolate's thread: a call gives its place back when it starts.
            foreach (FakeCall call in toRun.GetConsumingEnumerable())
            {
                call.Start();
                gate.Release();
            }

            return Task.CompletedTask;
        });
        var cancellable = new BlockingCollection<FakeCall>();
        Task canceller = Participants.Start("canceller", () =>
        {
            var random = new Random(seed);
            foreach (FakeCall call in cancellable.GetConsumingEnumerable())
            {
                if (random.Next(2) == 0)
                {
                    call.Cancel(gate); // as CallItem does: completed first, then taken out of the line
                }
            }

            return Task.CompletedTask;
        });
        Task[] callers = [.. Enumerable.Range(0, 3).Select(c => Participants.Start($"caller-{c}", async () =>
        {
            for (int i = 0; i < 15; i++)
            {
                var call = new FakeCall((c * 100) + i, state);
                all.Enqueue(call);
                if (gate.TryEnter(call))
                {
                    call.Hold();
                    toRun.Add(call);
                }
                else if ((i + seed) % 2 == 0)
                {
                    cancellable.Add(call);
                }

                if (i % 4 == 0)
                {
                    await Task.Yield();
                }
            }
        }))];
        Task closer = closes
            ? Participants.Start("closer", async () =>
            {
                for (int i = 0; i < seed % 25; i++)
                {
                    await Task.Yield();
                }

                gate.Close();
            })
            : Task.CompletedTask;

        await Within(Task.WhenAll(callers), "the callers");
        cancellable.CompleteAdding();
        await Within(canceller, "the canceller");
        await Within(closer, "the close");

        // Every call that was not cancelled must now be admitted (and run) or refused: none may wait for ever.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (all.Any(c => !c.Settled) && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(1);
        }

        toRun.CompleteAdding();
        await Within(runner, "the runner");
        int[] stuck = [.. all.Where(c => !c.Settled).Select(c => c.Id)];
        Require(stuck.Length == 0, $"calls neither admitted, refused nor cancelled (left waiting in the gate): [{string.Join(", ", stuck)}]");
        Require(state.MaxHeld <= places, $"{state.MaxHeld} calls held a place at once; the gate has {places}");
        foreach (FakeCall call in all)
        {
            Require(call.Admissions + call.Refusals <= 1, $"call {call.Id} admitted {call.Admissions} and refused {call.Refusals} times");
            Require(call.Held == call.Started, $"call {call.Id} held a place {call.Held} times and started {call.Started} times");
        }

        // Every place came back: a closed gate refuses newcomers, an open one takes exactly `places` of them at once.
        var probes = Enumerable.Range(0, places + 1).Select(i => new FakeCall(-1 - i, state)).ToArray();
        bool[] entered = [.. probes.Select(gate.TryEnter)];
        if (closes)
        {
            Require(entered.All(e => !e) && probes.All(p => p.Refusals == 1), "a closed gate refuses every newcomer");
        }
        else
        {
            Require(entered.Count(e => e) == places && !entered[places], $"the gate had {entered.Count(e => e)} free places after everything was given back; it has {places}");
        }
    }, Budget(3), "gate.enter", "gate.release.next", "gate.close.taken");

    [Test]
    public Task CallAsync_BoundedQueueWithCancellationsAndClose_EveryCallCompletes() => ExploreAsync(20, async seed =>
    {
        Isolate isolate = await Isolate.CreateAsync(new IsolateOptions { Name = $"gated-{seed}", MaxQueuedCalls = 1 + (seed % 2), WaitForUnload = false });
        var calls = new ConcurrentQueue<(int Value, Task<int> Call, CancellationTokenSource Cancel)>();
        Task[] callers = [.. Enumerable.Range(0, 3).Select(c => Participants.Start($"caller-{c}", async () =>
        {
            for (int i = 0; i < 10; i++)
            {
                int value = (c * 100) + i;
                var cancel = new CancellationTokenSource();
                calls.Enqueue((value, isolate.CallAsync(ScheduleWork.EchoAfterSpin, value, 5_000, cancel.Token), cancel));
                if ((value + seed) % 3 == 0)
                {
                    cancel.Cancel();
                }

                if (i % 3 == 0)
                {
                    await Task.Yield();
                }
            }
        }))];
        bool closes = seed % 2 == 0;
        await Within(Task.WhenAll(callers), "the callers");
        Task closing = closes ? isolate.CloseAsync() : Task.CompletedTask;
        foreach ((int value, Task<int> call, CancellationTokenSource cancel) in calls)
        {
            await Within(call.ContinueWith(_ => { }, TaskScheduler.Default), $"call {value}");
            Require(
                call.IsCompletedSuccessfully ? call.Result == value
                : call.IsCanceled ? cancel.IsCancellationRequested
                : closes && call.Exception!.InnerException is IsolateClosedException,
                $"call {value} ended {call.Status} ({call.Exception?.InnerException?.GetType().Name})");
        }

        await Within(closing, "CloseAsync");
        if (!closes)
        {
            // The gate gave every place back: as many calls as places can be queued behind a busy isolate at once.
            Require(await isolate.CallAsync(Work.Identity, 7).WaitAsync(TimeSpan.FromSeconds(5)) == 7, "a call after the storm runs");
            await isolate.CloseAsync();
        }
    }, Budget(3), "gate.enter", "gate.release.next");

    /// <summary>Shared counts of a scenario.</summary>
    private sealed class GateState(int places, BlockingCollection<FakeCall> toRun)
    {
        private int _held;
        private int _maxHeld;

        public int MaxHeld => Volatile.Read(ref _maxHeld);

        public BlockingCollection<FakeCall> ToRun => toRun;

        public int Places => places;

        public void Take()
        {
            int held = Interlocked.Increment(ref _held);
            int max;
            while (held > (max = Volatile.Read(ref _maxHeld)) && Interlocked.CompareExchange(ref _maxHeld, held, max) != max)
            {
            }
        }

        public void Give() => Interlocked.Decrement(ref _held);
    }

    /// <summary>A gated call as <see cref="CallItem{TArgs, TResult}"/> behaves: completed at once when cancelled, holding its place until it starts.</summary>
    private sealed class FakeCall(int id, GateState state) : IGatedCall
    {
        private int _cancelled;
        private int _admissions;
        private int _refusals;
        private int _held;
        private int _started;

        public int Id => id;

        public int Admissions => Volatile.Read(ref _admissions);

        public int Refusals => Volatile.Read(ref _refusals);

        public int Held => Volatile.Read(ref _held);

        public int Started => Volatile.Read(ref _started);

        public bool IsCompleted => Volatile.Read(ref _cancelled) != 0 || Refusals != 0;

        /// <summary>Admitted or refused, or cancelled (then it may still be admitted, and run as a cancelled call does: it gives its place back).</summary>
        public bool Settled => (Held > 0 && Started == Held) || Refusals > 0 || (Volatile.Read(ref _cancelled) != 0 && Held == Started);

        public void Admit(CallGate gate)
        {
            Interlocked.Increment(ref _admissions);
            state.Take();
            Interlocked.Increment(ref _held);
            state.ToRun.Add(this);
        }

        public void Refuse(Exception reason) => Interlocked.Increment(ref _refusals);

        public void Hold()
        {
            state.Take();
            Interlocked.Increment(ref _held);
        }

        public void Start()
        {
            state.Give();
            Interlocked.Increment(ref _started);
        }

        public void Cancel(CallGate gate)
        {
            Volatile.Write(ref _cancelled, 1);
            gate.Remove(this);
        }
    }
}
