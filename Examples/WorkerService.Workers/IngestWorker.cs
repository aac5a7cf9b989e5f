using System.Globalization;
using Isolates;

namespace WorkerService.Workers;

/// <summary>
/// A supervised long-running isolate: reads raw lines, parses them into orders and passes them on. A malformed line
/// makes it throw, as real parsers do; the host restarts it in a fresh isolate (fresh statics) and it goes on with
/// the next line. When the lines run out it completes its output and returns, which ends it for good.
/// </summary>
public sealed class IngestWorker(IngestChannels channels)
{
    // Per isolate: a restart starts again from zero, which is what "fresh state" means.
    private static int s_parsed;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (string line in channels.Lines.ReadAllAsync(cancellationToken))
        {
            string[] fields = line.Split(',');
            if (fields.Length != 4)
            {
                throw new FormatException($"Malformed line after {s_parsed} good ones in isolate '{Isolate.Current?.Name}' ({Isolate.Current?.Id}): '{line}'");
            }

            var order = new Order(
                int.Parse(fields[0], CultureInfo.InvariantCulture),
                fields[1],
                decimal.Parse(fields[2], CultureInfo.InvariantCulture),
                int.Parse(fields[3], CultureInfo.InvariantCulture));
            await channels.Orders.WriteAsync(order, cancellationToken);
            s_parsed++;
        }

        channels.Orders.Complete(); // no more lines: the scorer sees the end
    }
}
