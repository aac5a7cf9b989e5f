using System.Threading.Channels;
using Isolates.Tests.Support.Proxies;

namespace Isolates.Tests.Support.Hosting;

/// <summary>
/// A supervised worker that uses the host's exported <see cref="IOrders"/> service: each start places an order naming
/// its isolate, then it follows the host's commands (<see cref="WorkerCommand.Throw"/> makes it fault).
/// </summary>
public sealed class OrderingWorker(ChannelReader<int> commands)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        IOrders orders = Isolate.Current!.GetHostService<IOrders>();
        await orders.PlaceAsync("worker:" + Isolate.Current.Id, cancellationToken);
        while (await commands.WaitToReadAsync(cancellationToken))
        {
            if (commands.TryRead(out int command) && command == WorkerCommand.Throw)
            {
                throw new InvalidOperationException("scripted failure");
            }
        }
    }
}
