// A minimal ASP.NET Core API that offloads CPU-bound requests to an isolate pool the host owns, so the server's
// threads stay free for I/O. Listens on 127.0.0.1 only.
//
//   dotnet run -c Release --project Examples/WebApi                  # serve on http://127.0.0.1:5080
//   curl http://127.0.0.1:5080/primes/5000000
//   curl http://127.0.0.1:5080/health
//   dotnet run -c Release --project Examples/WebApi -- --self-test   # start, call itself, print, stop
using Isolates;
using Isolates.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using WebApi.Compute;

bool selfTest = args.Contains("--self-test");
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls(selfTest ? "http://127.0.0.1:0" : "http://127.0.0.1:5080"); // loopback only, explicitly
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddIsolates(o => o.AddPool("compute", size: Environment.ProcessorCount));
builder.Services.AddHealthChecks().AddIsolates();

WebApplication app = builder.Build();

app.MapGet("/primes/{limit:int}", async (int limit, IIsolateHost isolates, CancellationToken cancellationToken) =>
{
    if (limit is < 0 or > 50_000_000)
    {
        return Results.Problem($"limit must be between 0 and 50,000,000 (got {limit}).", statusCode: StatusCodes.Status400BadRequest);
    }

    IsolatePool pool = isolates.GetPool("compute");
    int count = await pool.SubmitAsync(Primes.CountBelow, limit, cancellationToken);
    return Results.Ok(new { limit, count });
});

// Several limits at once: MapAsync spreads them over every isolate of the pool.
app.MapGet("/primes", async (int[] limit, IIsolateHost isolates, CancellationToken cancellationToken) =>
{
    if (limit.Length == 0 || limit.Any(l => l is < 0 or > 50_000_000))
    {
        return Results.Problem("give one or more ?limit= values between 0 and 50,000,000.", statusCode: StatusCodes.Status400BadRequest);
    }

    IReadOnlyList<int> counts = await isolates.GetPool("compute").MapAsync(limit, Primes.CountBelow, cancellationToken);
    return Results.Ok(limit.Zip(counts, (l, c) => new { limit = l, count = c }));
});

app.MapHealthChecks("/health", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
{
    ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status200OK },
});

if (!selfTest)
{
    await app.RunAsync();
    return;
}

await app.StartAsync();
string address = app.Urls.First();
using var client = new HttpClient { BaseAddress = new Uri(address) };
foreach (string path in new[] { "/primes/5000000", "/primes?limit=1000&limit=100000&limit=1000000", "/primes/-1", "/health" })
{
    using HttpResponseMessage response = await client.GetAsync(path);
    Console.WriteLine($"GET {path} -> {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
}

await app.StopAsync();
Console.WriteLine($"isolates still alive: {Isolate.All.Count}");
