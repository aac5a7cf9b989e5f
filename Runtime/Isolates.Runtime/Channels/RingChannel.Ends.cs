using System.Threading.Channels;
using Isolates.Diagnostics;

namespace Isolates.Channels;

/// <summary>The ring's reader and writer, and completion, with the framework channel's exceptions for every closed case.</summary>
internal sealed partial class RingChannel<T>
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private bool TryComplete(Exception? error)
    {
        var settled = default(SettledWrites);
        lock (_sync)
        {
            if (_doneWriting is not null)
            {
                return false;
            }

            // Room a reader made but had not yet handed to the blocked writes (deferred to its turn's end) is theirs:
            // the framework would have put them in at the read, so they go in before the channel closes.
            MoveBlockedWrites(ref settled);
            Volatile.Write(ref _doneWriting, error ?? DoneWithoutError);
            Interlocked.Or(ref _tail.Value, ClosedBit); // from here on no write can claim a slot
        }

        Interleave.Point("ring.complete.closed");

        // Each step runs even if an awaiter's context refuses a post in the one before (see CompleteAll).
        Exception? refused = null;
        settled.Complete(this, ref refused);
        WakeReaders(ref refused); // each learns whether items are left or the channel is drained
        ReleaseWriters(ref refused); // blocked writes are refused, waiting writers learn of the completion
        if (IsDrained)
        {
            CompleteCompletion();
        }

        ThrowFirst(refused);
        return true;
    }

    private void CompleteCompletion()
    {
        Exception done = Volatile.Read(ref _doneWriting)!;
        if (ReferenceEquals(done, DoneWithoutError))
        {
            _completion.TrySetResult();
        }
        else if (done is OperationCanceledException cancelled)
        {
            _completion.TrySetCanceled(cancelled.CancellationToken);
        }
        else
        {
            _completion.TrySetException(done);
        }
    }

    /// <summary>What WriteAsync throws on a completed channel, and what a ReadAsync or WriteAsync that was waiting when it completed throws.</summary>
    private static Exception ClosedError(Exception done) =>
        ReferenceEquals(done, DoneWithoutError) ? new ChannelClosedException()
        : done is OperationCanceledException ? done
        : new ChannelClosedException(done);

    /// <summary>What ReadAsync gives when called on a completed, drained channel.</summary>
    private static ValueTask<T> ReadError(Exception done) =>
        ReferenceEquals(done, DoneWithoutError) ? ValueTask.FromException<T>(new ChannelClosedException())
        : done is OperationCanceledException cancelled ? ValueTask.FromCanceled<T>(cancelled.CancellationToken.IsCancellationRequested ? cancelled.CancellationToken : new CancellationToken(canceled: true))
        : ValueTask.FromException<T>(new ChannelClosedException(done));

    private sealed class RingReader(RingChannel<T> ring) : ChannelReader<T>
    {
        public override Task Completion => ring._completion.Task;

        public override bool CanCount => true;

        public override int Count => ring.Count;

        public override bool CanPeek => true;

        public override bool TryRead(out T item)
        {
            if (ring.TryDequeue(out item))
            {
                ring.Taken();
                return true;
            }

            return false;
        }

        public override bool TryPeek(out T item) => ring.TryPeek(out item);

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => ring.WaitToRead(cancellationToken, reportsErrors: true);

        public override ValueTask<T> ReadAsync(CancellationToken cancellationToken = default)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<T>(cancellationToken);
            }

            if (TryRead(out T item))
            {
                return new ValueTask<T>(item);
            }

            return ring.IsDrained ? ReadError(Volatile.Read(ref ring._doneWriting)!) : ReadSlowAsync(cancellationToken);
        }

        private async ValueTask<T> ReadSlowAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                // Only cancellation throws here; completion comes back as false, and is reported as the framework does.
                if (!await ring.WaitToRead(cancellationToken, reportsErrors: false).ConfigureAwait(false))
                {
                    throw ClosedError(Volatile.Read(ref ring._doneWriting)!);
                }

                Interleave.Point("ring.read.woken");
                if (TryRead(out T item))
                {
                    return item;
                }
            }
        }
    }

    /// <summary>A scheduling point inside a condition (always true).</summary>
    private static bool Interleaved(string name)
    {
        Interleave.Point(name);
        return true;
    }

    private sealed class RingWriter(RingChannel<T> ring) : ChannelWriter<T>
    {
        public override bool TryComplete(Exception? error = null) => ring.TryComplete(error);

        public override bool TryWrite(T item)
        {
            if (Volatile.Read(ref ring._blockedCount) == 0 && Interleaved("ring.tryWrite.noneBlocked") && ring.TryEnqueue(item) == WriteOutcome.Written)
            {
                ring.Written();
                return true;
            }

            return false; // full, completed, or writes are blocked and this one would overtake them
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => ring.WaitToWrite(cancellationToken);

        public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled(cancellationToken);
            }

            WriteOutcome outcome = Volatile.Read(ref ring._blockedCount) == 0 ? ring.TryEnqueue(item)
                : ring.IsClosed ? WriteOutcome.Closed
                : WriteOutcome.Full;
            switch (outcome)
            {
                case WriteOutcome.Written:
                    ring.Written();
                    return default;
                case WriteOutcome.Closed:
                    return ValueTask.FromException(ClosedError(Volatile.Read(ref ring._doneWriting)!));
                default:
                    return ring.Block(item, cancellationToken); // waits in line with its item
            }
        }
    }
}
