using System.Threading.Channels;
using Isolates;

namespace WorkerService.Workers;

/// <summary>An order parsed from one raw line; crosses between isolates as a copy.</summary>
[Shareable]
public sealed record Order(int Id, string Customer, decimal Amount, int Items);

/// <summary>What the ingest worker is given by the host: where raw lines come from and where orders go.</summary>
[Shareable]
public sealed record IngestChannels(ChannelReader<string> Lines, ChannelWriter<Order> Orders);
