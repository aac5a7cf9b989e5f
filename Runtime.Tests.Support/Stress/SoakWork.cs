using System.Threading.Channels;

namespace Isolates.Tests.Support.Stress;

/// <summary>A soak item of a [Shareable] record type: its id, a text and a check over both, so corruption shows.</summary>
[Shareable]
public sealed record SoakItem(int Id, string Text, int Check);

/// <summary>What a producer writes: ids From..From+Count-1, by <see cref="SoakWork.WriteAsyncMode"/>, <see cref="SoakWork.TryWriteMode"/> or <see cref="SoakWork.PacedMode"/>.</summary>
[Shareable]
public sealed record SoakRange(int From, int Count, int Mode);

/// <summary>The supervised soak worker's argument: the host channel it consumes, where it acknowledges each item, and how often it faults.</summary>
[Shareable]
public sealed record SoakWorkerArgs(ChannelReader<int> Input, ChannelWriter<int> Acks, int FaultEvery);

/// <summary>
/// Items of the three element kinds the soak uses (<c>int</c>, <c>string</c>, <see cref="SoakItem"/>), made from an id
/// and checked back, the same way in the host and in every isolate.
/// </summary>
public static class SoakItems
{
    // Non-ASCII text (two-byte, three-byte and surrogate-pair characters) so strings and records carry real UTF-16.
    private static readonly string[] Pieces = ["a", "é", "€", "😀", "z", "ß", "中", " "];

    public static T Make<T>(int id)
    {
        if (typeof(T) == typeof(int))
        {
            return (T)(object)id;
        }

        string text = TextFor(id);
        if (typeof(T) == typeof(string))
        {
            return (T)(object)(id.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + text);
        }

        if (typeof(T) == typeof(SoakItem))
        {
            return (T)(object)new SoakItem(id, text, CheckOf(id, text));
        }

        throw new NotSupportedException($"The soak makes no items of {typeof(T)}.");
    }

    /// <summary>The id an item carries; <paramref name="intact"/> is false when its content is not what <see cref="Make{T}"/> made for that id.</summary>
    public static int IdOf<T>(T item, out bool intact)
    {
        switch (item)
        {
            case int id:
                intact = id >= 0;
                return id;
            case string s:
                int colon = s.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || !int.TryParse(s.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int sid))
                {
                    intact = false;
                    return -1;
                }

                intact = string.Equals(s, Make<string>(sid), StringComparison.Ordinal);
                return sid;
            case SoakItem r:
                intact = r.Text == TextFor(r.Id) && r.Check == CheckOf(r.Id, r.Text);
                return r.Id;
            default:
                intact = false;
                return -1;
        }
    }

    public static string TextFor(int id)
    {
        int length = id % 23;
        var builder = new System.Text.StringBuilder(length * 2);
        for (int i = 0; i < length; i++)
        {
            builder.Append(Pieces[(id + i) % Pieces.Length]);
        }

        return builder.ToString();
    }

    /// <summary>FNV-1a over the id and the text's UTF-16 units (string.GetHashCode is randomized, and a check must not depend on it).</summary>
    public static int CheckOf(int id, string text)
    {
        uint hash = 2166136261;
        hash = (hash ^ (uint)id) * 16777619;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)hash;
    }
}

/// <summary>
/// Isolate-side code of the chaos soak (Runtime.Tests/Stress/ChaosSoakTests.cs). Every producer and consumer logs,
/// in the same turn as the channel operation, what happened to each id on a log channel of its own: the host counts
/// from those logs, so an item is accounted for even when the isolate is closed or faults right after.
/// </summary>
public static class SoakWork
{
    public const int WriteAsyncMode = 0;
    public const int TryWriteMode = 1;

    /// <summary>WriteAsync with a 1 ms pause after each item, so readers wait on an empty channel most of the time.</summary>
    public const int PacedMode = 2;

    public const int ReadAllMode = 0;
    public const int ReadAsyncMode = 1;
    public const int WaitToReadMode = 2;

    /// <summary>
    /// Writes the range's items; logs <c>id</c> for each write the channel accepted and <c>~id</c> for the one it
    /// refused (closed channel, cancellation), then stops. Returns how many were accepted.
    /// </summary>
    public static async Task<int> ProduceAsync<T>(ChannelWriter<T> writer, ChannelWriter<int> log, SoakRange range, CancellationToken cancellationToken)
    {
        int accepted = 0;
        for (int id = range.From; id < range.From + range.Count; id++)
        {
            T item = SoakItems.Make<T>(id);
            try
            {
                if (range.Mode == TryWriteMode)
                {
                    while (!writer.TryWrite(item))
                    {
                        if (!await writer.WaitToWriteAsync(cancellationToken))
                        {
                            Log(log, ~id);
                            return accepted;
                        }
                    }
                }
                else
                {
                    await writer.WriteAsync(item, cancellationToken);
                }
            }
            catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException or IsolateClosedException)
            {
                Log(log, ~id); // refused: this item is not in the channel
                return accepted;
            }

            Log(log, id);
            accepted++;
            if (range.Mode == PacedMode)
            {
                await Task.Delay(1, CancellationToken.None);
            }
            else if ((id & 31) == 0)
            {
                await Task.Yield(); // end the turn now and then, so closes, faults and other calls land between items
            }
        }

        return accepted;
    }

    /// <summary>Reads until the channel completes (or the token fires), logging each item's id (<c>~id</c> if its content is wrong).</summary>
    public static async Task<int> ConsumeAsync<T>(ChannelReader<T> reader, ChannelWriter<int> log, int mode, CancellationToken cancellationToken)
    {
        int received = 0;
        switch (mode)
        {
            case ReadAllMode:
                await foreach (T item in reader.ReadAllAsync(cancellationToken))
                {
                    LogItem(log, item);
                    received++;
                }

                break;
            case ReadAsyncMode:
                while (true)
                {
                    T item;
                    try
                    {
                        item = await reader.ReadAsync(cancellationToken);
                    }
                    catch (ChannelClosedException) when (reader.Completion.IsCompletedSuccessfully)
                    {
                        break;
                    }

                    LogItem(log, item);
                    received++;
                }

                break;
            default:
                while (await reader.WaitToReadAsync(cancellationToken))
                {
                    while (reader.TryRead(out T? item))
                    {
                        LogItem(log, item);
                        received++;
                    }
                }

                break;
        }

        return received;
    }

    /// <summary>Reads from two channels at once with <see cref="IsolateChannel.SelectAsync{T}(IReadOnlyList{ChannelReader{T}}, CancellationToken)"/> until both complete.</summary>
    public static async Task<int> SelectConsumeAsync<T>(ChannelReader<T> first, ChannelReader<T> second, ChannelWriter<int> log, CancellationToken cancellationToken)
    {
        ChannelReader<T>[] readers = [first, second];
        int received = 0;
        while (true)
        {
            Selected<T> selected;
            try
            {
                selected = await IsolateChannel.SelectAsync(readers, cancellationToken);
            }
            catch (ChannelClosedException) when (first.Completion.IsCompletedSuccessfully && second.Completion.IsCompletedSuccessfully)
            {
                break;
            }

            LogItem(log, selected.Item);
            received++;
        }

        return received;
    }

    /// <summary>Faults this isolate: an exception escapes an async void method, outside any call, after <paramref name="delayMs"/>.</summary>
    public static void FaultSoon(int delayMs) => FaultLater(delayMs);

    /// <summary>Keeps the isolate's thread busy (synchronously), as a long call would: work posted meanwhile waits in its queue.</summary>
    public static void Busy(int ms) => Thread.Sleep(ms);

    public static long Square(int x) => ((long)x * x) + 7;

    public static async Task<long> SquareSlowAsync(int x)
    {
        if (x % 97 == 0)
        {
            await Task.Delay(1);
        }
        else
        {
            await Task.Yield();
        }

        return Square(x);
    }

    private static void LogItem<T>(ChannelWriter<int> log, T item)
    {
        int id = SoakItems.IdOf(item, out bool intact);
        Log(log, intact ? id : ~Math.Max(id, 0));
    }

    private static void Log(ChannelWriter<int> log, int entry)
    {
        // The log is unbounded and completed only by the host after this isolate ended: a refusal is a soak bug.
        if (!log.TryWrite(entry))
        {
            throw new InvalidOperationException($"The soak's log channel refused entry {entry}.");
        }
    }

    private static async void FaultLater(int delayMs)
    {
        await Task.Delay(delayMs);
        throw new InvalidOperationException("soak: a fault outside any call");
    }
}

/// <summary>
/// A supervised worker for the soak: consumes a host channel, acknowledges each id on another host channel in the same
/// turn, and faults (an async void that throws) after every <see cref="SoakWorkerArgs.FaultEvery"/> items of its own
/// isolate's life, so the host restarts it while items keep coming.
/// </summary>
public sealed class SoakConsumingWorker(SoakWorkerArgs args)
{
    private static int s_seen; // per isolate: every restart starts again from 0

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (await args.Input.WaitToReadAsync(cancellationToken))
        {
            while (args.Input.TryRead(out int id))
            {
                if (!args.Acks.TryWrite(id))
                {
                    throw new InvalidOperationException($"The soak's acknowledgement channel refused id {id}.");
                }

                if (++s_seen % args.FaultEvery == 0)
                {
                    FaultSoon();
                }
            }
        }
    }

    private static async void FaultSoon()
    {
        await Task.Yield();
        throw new InvalidOperationException("soak worker: a fault outside any call");
    }
}

/// <summary>Isolate-side code of the minimal tests that reduce what the soak found.</summary>
public static class SoakReductions
{
    /// <summary>Waits in ReadAsync for one item (signals <paramref name="waiting"/> first, so the host knows it waits).</summary>
    public static async Task<int> SignalThenReadOneAsync(ChannelWriter<int> waiting, ChannelReader<int> reader, int mode)
    {
        waiting.TryWrite(1);
        switch (mode)
        {
            case SoakWork.ReadAsyncMode:
                return await reader.ReadAsync();
            case SoakWork.WaitToReadMode:
                return await reader.WaitToReadAsync() && reader.TryRead(out int item) ? item : -1;
            default:
                await foreach (int first in reader.ReadAllAsync())
                {
                    return first;
                }

                return -1;
        }
    }

    /// <summary>The same wait with the call's own token: the shape of every soak consumer.</summary>
    public static async Task<int> SignalThenReadOneWithTokenAsync(ChannelWriter<int> waiting, ChannelReader<int> reader, CancellationToken cancellationToken)
    {
        waiting.TryWrite(1);
        return await reader.ReadAsync(cancellationToken);
    }

    /// <summary>Reports (on <paramref name="cancelled"/>) when its token is cancelled, and waits until then without blocking the thread.</summary>
    public static async Task ReportTokenCancellationAsync(ChannelWriter<int> cancelled, CancellationToken cancellationToken)
    {
        cancellationToken.Register(() => cancelled.TryWrite(1));
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    /// <summary>Waits to read and returns the type of what the wait threw (the channel was completed with an error).</summary>
    public static async Task<string> WaitToReadCatchAsync(ChannelReader<int> reader)
    {
        try
        {
            await reader.WaitToReadAsync();
            return "no exception";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }

    /// <summary>Waits to write and returns the type of what the wait threw (the channel was completed with an error).</summary>
    public static async Task<string> WaitToWriteCatchAsync(ChannelWriter<int> writer)
    {
        try
        {
            await writer.WaitToWriteAsync();
            return "no exception";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }
}
