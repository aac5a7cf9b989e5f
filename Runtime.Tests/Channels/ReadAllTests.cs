using System.Threading.Channels;

namespace Isolates.Tests.Channels;

/// <summary>ReadAllAsync of the runtime's reader ends behaves as System.Threading.Channels' own.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class ReadAllTests
{
    [Test]
    public void ReadAllAsync_TokenAlreadyCancelledWithItemsBuffered_ThrowsAtOnceAsTheFrameworkDoes([Values(1, 4, 0, 70_000)] int capacity)
    {
        Channel<int> framework = Channel.CreateUnbounded<int>();
        Channel<int> isolates = capacity == 0 ? IsolateChannel.CreateUnbounded<int>() : IsolateChannel.CreateBounded<int>(capacity);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        framework.Writer.TryWrite(1);
        isolates.Writer.TryWrite(1);

        Assert.CatchAsync<OperationCanceledException>(() => FirstAsync(framework.Reader, cancelled.Token), "the framework's behaviour");
        Assert.CatchAsync<OperationCanceledException>(() => FirstAsync(isolates.Reader, cancelled.Token));
        Assert.That(isolates.Reader.TryRead(out int item) ? item : -1, Is.EqualTo(1), "the item stays in the channel");
    }

    private static async Task<int> FirstAsync(ChannelReader<int> reader, CancellationToken cancellationToken)
    {
        await foreach (int item in reader.ReadAllAsync(cancellationToken))
        {
            return item;
        }

        return -1;
    }
}
