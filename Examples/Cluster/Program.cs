// Isolate pools across an Orleans cluster: two silo processes on localhost, each running pool "scoring" of two
// isolates, and a client that maps orders over both. One command starts it all:
//   dotnet run -c Release --project Examples/Cluster              (prints what ran where)
//   dotnet run -c Release --project Examples/Cluster -- --self-test  (exit 0 only if the map was exact and used both silos)
// The same program is the silo (`--silo <index> <siloPort> <gatewayPort> <primarySiloPort>`), started twice by the client.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Isolates;
using Isolates.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Hosting;

if (args is ["--silo", var index, var siloPort, var gatewayPort, var primaryPort])
{
    return await Silo.RunAsync(int.Parse(index, CultureInfo.InvariantCulture), int.Parse(siloPort, CultureInfo.InvariantCulture), int.Parse(gatewayPort, CultureInfo.InvariantCulture), int.Parse(primaryPort, CultureInfo.InvariantCulture));
}

bool selfTest = args.Contains("--self-test");
int[] ports = FreePorts(4); // silo and gateway port of each silo: free ones, so runs beside other programs do not collide
var silos = new List<Process>();
try
{
    for (int i = 0; i < 2; i++)
    {
        silos.Add(Silo.Start(i, ports[2 * i], ports[(2 * i) + 1], ports[0]));
    }

    using IHost client = Host.CreateDefaultBuilder()
        .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Error)) // it warns of each gateway not up yet
        .UseOrleansClient(orleans => orleans.UseLocalhostClustering([ports[1], ports[3]]))
        .Build();
    await client.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
    IClusterIsolatePool pool = client.Services.GetRequiredService<IClusterClient>().GetIsolatePool("scoring");

    // Both silos must have joined before the map, or it would (correctly) use only the first.
    var waiting = Stopwatch.StartNew();
    IReadOnlyDictionary<string, int> members;
    while ((members = await pool.GetSilosAsync()).Count < 2 && waiting.Elapsed < TimeSpan.FromSeconds(60))
    {
        await Task.Delay(200);
    }

    Console.WriteLine($"silos running pool 'scoring': {string.Join(", ", members.Select(m => $"{m.Key} ({m.Value} isolates)"))}");
    Order[] orders = [.. Enumerable.Range(0, 400).Select(i => new Order(i, 20_000 + (i % 50)))];
    var watch = Stopwatch.StartNew();
    IReadOnlyList<Scored> scored = await pool.MapAsync(orders, Scoring.Score);
    watch.Stop();

    bool exact = scored.Count == orders.Length && scored.Select((s, i) => s.OrderId == i && s.Primes == Scoring.CountPrimes(orders[i].Limit)).All(ok => ok);
    var byProcess = scored.GroupBy(s => s.ProcessId).OrderBy(g => g.Key).ToList();
    Console.WriteLine($"{orders.Length} orders scored in {watch.ElapsedMilliseconds} ms; results {(exact ? "exact, in input order" : "WRONG")}");
    foreach (IGrouping<int, Scored> group in byProcess)
    {
        Console.WriteLine($"  silo process {group.Key}: {group.Count()} orders");
    }

    bool bothSilos = byProcess.Count == 2 && byProcess.All(g => silos.Any(p => p.Id == g.Key));
    await client.StopAsync();
    if (selfTest)
    {
        Console.WriteLine(exact && bothSilos ? "self-test: PASS (exact results, work on both silo processes)" : $"self-test: FAIL (exact: {exact}, both silos: {bothSilos})");
        return exact && bothSilos ? 0 : 1;
    }

    return 0;
}
finally
{
    silos.Reverse(); // the first silo is the primary (it keeps the localhost cluster's membership): it stops last
    foreach (Process silo in silos)
    {
        await Silo.StopAsync(silo);
    }
}

static int[] FreePorts(int count)
{
    var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
    listeners.ForEach(l => l.Start());
    int[] ports = [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
    listeners.ForEach(l => l.Stop());
    return ports;
}

/// <summary>An order to score: the kind of value a real workload sends (a record Isolates encodes, not Orleans).</summary>
[Shareable]
public sealed record Order(int Id, int Limit);

/// <summary>A scored order, with the process that scored it (the self-test checks both silos took work).</summary>
[Shareable]
public sealed record Scored(int OrderId, long Primes, int ProcessId);

/// <summary>Plain CPU-bound code, run in the silos' isolates; nothing in it knows about Orleans.</summary>
public static class Scoring
{
    public static Scored Score(Order order) => new(order.Id, CountPrimes(order.Limit), Environment.ProcessId);

    public static long CountPrimes(int limit)
    {
        long count = 0;
        for (int n = 2; n < limit; n++)
        {
            bool prime = true;
            for (int d = 2; (long)d * d <= n; d++)
            {
                if (n % d == 0)
                {
                    prime = false;
                    break;
                }
            }

            if (prime)
            {
                count++;
            }
        }

        return count;
    }
}

/// <summary>The silo side: a generic host with Orleans and pool "scoring"; stops when its standard input closes.</summary>
internal static class Silo
{
    public static Process Start(int index, int siloPort, int gatewayPort, int primaryPort)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            info.ArgumentList.Add(typeof(Silo).Assembly.Location); // run as `dotnet Cluster.dll`
        }

        foreach (string argument in new[] { "--silo", $"{index}", $"{siloPort}", $"{gatewayPort}", $"{primaryPort}" })
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info)!;
    }

    public static async Task StopAsync(Process silo)
    {
        try
        {
            silo.StandardInput.Close(); // the silo's signal to stop gracefully
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await silo.WaitForExitAsync(timeout.Token);
        }
        catch (Exception)
        {
            silo.Kill(entireProcessTree: true);
        }
        finally
        {
            silo.Dispose();
        }
    }

    public static async Task<int> RunAsync(int index, int siloPort, int gatewayPort, int primaryPort)
    {
        using IHost host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Error)) // localhost clustering warns of every peer starting or stopping
            .UseOrleans(silo => silo
                .UseLocalhostClustering(siloPort, gatewayPort, index == 0 ? null : new IPEndPoint(IPAddress.Loopback, primaryPort))
                .AddIsolatePool("scoring", sizePerSilo: 2))
            .Build();
        await host.StartAsync();
        await Task.Run(() => Console.In.ReadToEnd()); // until the client closes our input (or the terminal does)
        await host.StopAsync(TimeSpan.FromSeconds(20));
        return 0;
    }
}
