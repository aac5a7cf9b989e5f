using System.Text.RegularExpressions;
using System.Threading.Channels;
using Isolates.Tests.Diagnostics;
using Isolates.Tests.Support;

namespace Isolates.Tests.Processes;

/// <summary>
/// Channel ends passed to a child-process isolate are bridged over the pipe: items arrive once and in order, both
/// directions keep backpressure (credit for a window of items), completion and errors propagate, and when the child
/// dies the host's channels learn it: the one it wrote fails naming it, and items taken for it that its code never
/// acknowledged are counted in its exit.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
[NonParallelizable]
public partial class ChildProcessChannelTests
{
    private readonly List<Isolate> _isolates = [];

    [TearDown]
    public async Task CloseChildren()
    {
        foreach (Isolate iso in _isolates)
        {
            await iso.KillAsync();
        }

        _isolates.Clear();
    }

    private async Task<Isolate> ChildAsync(string name)
    {
        Isolate iso = await Isolate.CreateAsync(new IsolateOptions { Name = name, Placement = IsolatePlacement.ChildProcess });
        _isolates.Add(iso);
        return iso;
    }

    [Test]
    public async Task ChannelEnds_IntsHostToChildToHost_EveryItemOnceInOrder()
    {
        const int Count = 10_000;
        Isolate child = await ChildAsync("pipe-ints");
        Channel<int> input = IsolateChannel.CreateBounded<int>(64);
        Channel<int> output = IsolateChannel.CreateBounded<int>(64);
        Task<int> call = child.CallAsync(ChildChannelWork.PipeIntsAsync, input.Reader, output.Writer);
        Task producer = Task.Run(async () =>
        {
            for (int i = 0; i < Count; i++)
            {
                await input.Writer.WriteAsync(i);
            }

            input.Writer.Complete();
        });

        var received = new List<int>(Count);
        await Wait.Bounded(Task.Run(async () =>
        {
            await foreach (int item in output.Reader.ReadAllAsync())
            {
                received.Add(item);
            }
        }));

        await Wait.Bounded(producer);
        Assert.Multiple(async () =>
        {
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, Count)), "every item once, in order");
            Assert.That(await Wait.Bounded(call), Is.EqualTo(Count));
            Assert.That(output.Reader.Completion.IsCompletedSuccessfully, Is.True, "the child's Complete() completed the host's channel");
        });
    }

    [Test]
    public async Task ChannelEnds_RecordsHostToChildToHost_EveryItemOnceInOrder()
    {
        const int Count = 10_000;
        Isolate child = await ChildAsync("pipe-records");
        Channel<Sample> input = IsolateChannel.CreateBounded<Sample>(32);
        Channel<Sample> output = IsolateChannel.CreateUnbounded<Sample>();
        Task<int> call = child.CallAsync(ChildChannelWork.PipeSamplesAsync, input.Reader, output.Writer);
        Task producer = Task.Run(async () =>
        {
            for (int i = 0; i < Count; i++)
            {
                await input.Writer.WriteAsync(new Sample(i, "s" + i, i / 2.0));
            }

            input.Writer.Complete();
        });

        var received = new List<Sample>(Count);
        await Wait.Bounded(Task.Run(async () =>
        {
            await foreach (Sample item in output.Reader.ReadAllAsync())
            {
                received.Add(item);
            }
        }));

        await Wait.Bounded(producer);
        Assert.Multiple(async () =>
        {
            Assert.That(received.Select(s => s.Seq), Is.EqualTo(Enumerable.Range(0, Count)), "every item once, in order");
            Assert.That(received.All(s => s.Label == "s" + s.Seq + "'" && s.Value == s.Seq / 2.0), Is.True, "the child's own records, transformed");
            Assert.That(await Wait.Bounded(call), Is.EqualTo(Count));
        });
    }

    [Test]
    public async Task ChannelReader_SlowChildReader_HostWriterWaits()
    {
        Isolate child = await ChildAsync("slow-reader");
        Channel<int> input = IsolateChannel.CreateBounded<int>(4);
        Task<long> call = child.CallAsync(ChildChannelWork.ReadSlowlyAsync, input.Reader, 10, 50);
        int written = 0;
        int maxCount = 0;
        using var stop = new CancellationTokenSource();
        Task producer = Task.Run(async () =>
        {
            for (int i = 0; i < 1000; i++)
            {
                await input.Writer.WriteAsync(1, stop.Token);
                Interlocked.Increment(ref written);
                maxCount = Math.Max(maxCount, input.Reader.Count);
            }
        });

        long sum = await Wait.Bounded(call);
        await Task.Delay(200); // the writer has had time to run ahead if nothing held it
        int writtenAfter = Volatile.Read(ref written);
        await stop.CancelAsync();
        Assert.ThrowsAsync(Is.InstanceOf<OperationCanceledException>(), () => producer);
        Assert.Multiple(() =>
        {
            Assert.That(sum, Is.EqualTo(10));
            // 10 read by the child, at most 4 (its window: the capacity) taken for it, 4 in the host's channel.
            Assert.That(writtenAfter, Is.LessThanOrEqualTo(10 + 4 + 4), "the host writer waited for the child's reads");
            Assert.That(maxCount, Is.LessThanOrEqualTo(4));
        });
    }

    [Test]
    public async Task ChannelWriter_HostChannelFull_ChildWriterWaitsThenEverythingArrives()
    {
        Isolate child = await ChildAsync("blocked-writer");
        Channel<int> output = IsolateChannel.CreateBounded<int>(4);
        Task<int> call = child.CallAsync(ChildChannelWork.WriteIntsAsync, output.Writer, 1000, (string?)null);
        await Poll.Until(() => output.Reader.Count == 4, "the host channel filling up");
        await Task.Delay(300);
        Assert.Multiple(() =>
        {
            Assert.That(call.IsCompleted, Is.False, "the child's writer waits while the host channel is full");
            Assert.That(output.Reader.Count, Is.EqualTo(4));
        });

        var received = new List<int>();
        await Wait.Bounded(Task.Run(async () =>
        {
            await foreach (int item in output.Reader.ReadAllAsync())
            {
                received.Add(item);
            }
        }));
        Assert.Multiple(async () =>
        {
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, 1000)));
            Assert.That(await Wait.Bounded(call), Is.EqualTo(1000));
        });
    }

    [Test]
    public async Task ChannelEnds_CompletedWithErrors_ErrorsCrossBothWays()
    {
        Isolate child = await ChildAsync("errors");

        Channel<int> output = IsolateChannel.CreateUnbounded<int>();
        await Wait.Bounded(child.CallAsync(ChildChannelWork.WriteIntsAsync, output.Writer, 3, "child broke"));
        var items = new List<int>();
        Exception? childError = null;
        try
        {
            await foreach (int item in output.Reader.ReadAllAsync())
            {
                items.Add(item);
            }
        }
        catch (Exception ex)
        {
            childError = ex;
        }

        Channel<int> input = IsolateChannel.CreateUnbounded<int>();
        input.Writer.TryWrite(7);
        input.Writer.TryWrite(8);
        input.Writer.Complete(new InvalidOperationException("host stopped"));
        var hostError = Assert.ThrowsAsync<IsolateExecutionException>(() => Wait.Bounded(child.CallAsync(ChildChannelWork.CountUntilCompletedAsync, input.Reader)))!;

        Channel<int> clean = IsolateChannel.CreateUnbounded<int>();
        clean.Writer.TryWrite(1);
        clean.Writer.Complete();
        Assert.Multiple(async () =>
        {
            Assert.That(items, Is.EqualTo(new[] { 0, 1, 2 }), "items before the error arrive first");
            Assert.That(childError?.Message, Does.Contain("child broke"));
            Assert.That(hostError.Message, Does.Contain("host stopped"));
            Assert.That(await Wait.Bounded(child.CallAsync(ChildChannelWork.CountUntilCompletedAsync, clean.Reader)), Is.EqualTo(1), "a plain completion ends the child's reader after the last item");
        });
    }

    [Test]
    public async Task ChannelEnds_ChildKilledMidStream_WriterChannelFailsNamingChildAndUnreadItemsCounted()
    {
        Isolate child = await ChildAsync("killed-mid-stream");
        Channel<int> input = IsolateChannel.CreateBounded<int>(16);
        Channel<int> output = IsolateChannel.CreateUnbounded<int>();
        Task call = child.CallAsync(ChildChannelWork.PipeSlowlyAsync, input.Reader, output.Writer, 2);
        int written = 0;
        using var stop = new CancellationTokenSource();
        Task producer = Task.Run(async () =>
        {
            for (int i = 0; ; i++)
            {
                await input.Writer.WriteAsync(i, stop.Token);
                written = i + 1;
            }
        });

        var received = new List<int>();
        using (var bounded = new CancellationTokenSource(Wait.Timeout))
        {
            await foreach (int item in output.Reader.ReadAllAsync(bounded.Token))
            {
                received.Add(item);
                if (received.Count == 50)
                {
                    break;
                }
            }
        }

        await Wait.Bounded(child.KillAsync());
        IsolateExit exit = await Wait.Bounded(child.Exited);
        Exception? outputError = null;
        try
        {
            using var bounded = new CancellationTokenSource(Wait.Timeout);
            await foreach (int item in output.Reader.ReadAllAsync(bounded.Token))
            {
                received.Add(item); // written by the child before it died: still delivered
            }
        }
        catch (Exception ex)
        {
            outputError = ex;
        }

        await stop.CancelAsync();
        Assert.ThrowsAsync(Is.InstanceOf<OperationCanceledException>(), () => producer);
        input.Writer.Complete();
        var remaining = new List<int>();
        await foreach (int item in input.Reader.ReadAllAsync())
        {
            remaining.Add(item);
        }

        TestContext.Out.WriteLine($"exit: {exit.Diagnostic}; output error: {outputError?.Message}; received {received.Count}, remaining from {(remaining.Count > 0 ? remaining[0] : -1)}");
        Match lost = LostItems().Match(exit.Diagnostic ?? string.Empty);
        int reported = lost.Success ? int.Parse(lost.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        int resumedAt = remaining.Count > 0 ? remaining[0] : written;
        Assert.Multiple(() =>
        {
            Assert.ThrowsAsync<IsolateClosedException>(() => call);
            Assert.That(outputError, Is.InstanceOf<IsolateClosedException>(), "the channel the child wrote fails");
            Assert.That(outputError?.Message, Does.Contain("killed-mid-stream"));
            Assert.That(((IsolateClosedException?)outputError)?.IsolateName, Is.EqualTo("killed-mid-stream"));
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, received.Count)), "what the child wrote arrived once, in order");
            Assert.That(remaining, Is.EqualTo(Enumerable.Range(resumedAt, remaining.Count)), "what it never took is still in the host's channel, in order");
            Assert.That(lost.Success, Is.True, "the exit says how many items taken for the child were not acknowledged: " + exit.Diagnostic);
            Assert.That(reported, Is.InRange(1, 16), "at most the window");
            // Items taken from the host channel and never written back: the child read them (at most the one it was
            // copying when it died) or they were counted as not acknowledged; none vanished unreported.
            Assert.That(resumedAt - received.Count, Is.LessThanOrEqualTo(reported + 1));
        });
    }

    [Test]
    public async Task ChannelWriter_ChildFaults_HostChannelGetsItsItemsThenFailsNamingIt()
    {
        Isolate child = await ChildAsync("faulting-writer");
        Channel<int> output = IsolateChannel.CreateUnbounded<int>();
        await Wait.Bounded(child.CallAsync(ChildChannelWork.WriteThenFaultAsync, output.Writer, 100));
        var received = new List<int>();
        Exception? error = null;
        try
        {
            using var bounded = new CancellationTokenSource(Wait.Timeout);
            await foreach (int item in output.Reader.ReadAllAsync(bounded.Token))
            {
                received.Add(item);
            }
        }
        catch (Exception ex)
        {
            error = ex;
        }

        IsolateExit exit = await Wait.Bounded(child.Exited);
        Assert.Multiple(() =>
        {
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Faulted));
            Assert.That(received, Is.EqualTo(Enumerable.Range(0, 100)), "every item written before the fault arrives first");
            Assert.That(error, Is.InstanceOf<IsolateClosedException>());
            Assert.That(error?.Message, Does.Contain("faulting-writer").And.Contain("escaped the isolate"));
        });
    }

    [Test]
    public async Task ChannelReader_IsolateClosedWhileChildReads_ReadCancelledAndNothingTaken()
    {
        Isolate child = await ChildAsync("closed-while-reading");
        Channel<int> input = IsolateChannel.CreateBounded<int>(4);
        Task<int> call = child.CallAsync(ChildChannelWork.ReadOneAsync, input.Reader);
        await Task.Delay(300); // the child's read is waiting (and has asked for its window)

        await Wait.Bounded(child.CloseAsync());
        IsolateExit exit = await Wait.Bounded(child.Exited);
        input.Writer.TryWrite(42);
        Assert.Multiple(() =>
        {
            Assert.ThrowsAsync<IsolateClosedException>(() => Wait.Bounded(call), "the pending read ended with the isolate");
            Assert.That(exit.Reason, Is.EqualTo(IsolateExitReason.Closed));
            Assert.That(exit.Diagnostic, Is.Null, "nothing was taken for it");
            Assert.That(input.Reader.Count, Is.EqualTo(1), "an item written afterwards stays in the host's channel");
        });
    }

    [Test]
    public async Task CallAsync_WholeChannelToChild_RefusedSayingWhy()
    {
        Isolate child = await ChildAsync("whole-channel");
        Channel<int> channel = IsolateChannel.CreateUnbounded<int>();
        var error = Assert.ThrowsAsync<NotShareableException>(() => child.CallAsync(ChildChannelWork.TakesWholeChannel, channel))!;
        Assert.That(error.Message, Does.Contain("Reader or its Writer"));
    }

    [GeneratedRegex(@"(\d+) items? w(?:as|ere) taken from channel")]
    private static partial Regex LostItems();
}
