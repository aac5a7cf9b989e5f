using System.Linq.Expressions;
using Humanizer;
using MathNet.Numerics.LinearAlgebra;
using NodaTime;
using Polly;
using Polly.Retry;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Isolates.Compatibility.Workloads;

/// <summary>A Serilog sink that only counts, so the workload needs no sink package.</summary>
internal sealed class CountingSink : ILogEventSink
{
    public int Count { get; private set; }

    public void Emit(LogEvent logEvent) => Count++;
}

/// <summary>Other popular libraries, each used the way its README shows.</summary>
public static class Libraries
{
    public static Task<string> Serilog()
    {
        var sink = new CountingSink();
        using (Logger logger = new LoggerConfiguration().MinimumLevel.Debug().Enrich.WithProperty("app", "compat").WriteTo.Sink(sink).CreateLogger())
        {
            for (int i = 0; i < 10; i++)
            {
                logger.Information("Order {OrderId} for {@Customer}", i, new { Name = "c", Tier = 2 });
            }
        }

        return Task.FromResult(sink.Count == 10 ? "10 events" : throw new InvalidOperationException($"{sink.Count} events"));
    }

    public static async Task<string> Polly()
    {
        ResiliencePipeline pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions { MaxRetryAttempts = 3, Delay = TimeSpan.Zero, ShouldHandle = new PredicateBuilder().Handle<InvalidOperationException>() })
            .AddTimeout(TimeSpan.FromSeconds(10))
            .Build();
        int attempts = 0;
        int result = await pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            return attempts < 3 ? throw new InvalidOperationException("transient") : ValueTask.FromResult(42);
        });
        return result == 42 && attempts == 3 ? "3 attempts" : throw new InvalidOperationException($"{attempts} attempts");
    }

    public static Task<string> ImageSharp()
    {
        using var image = new Image<Rgba32>(128, 96, new Rgba32(200, 100, 50));
        image.Mutate(x => x.Resize(64, 48).Grayscale());
        using var output = new MemoryStream();
        image.SaveAsPng(output);
        return Task.FromResult(image.Width == 64 && output.Length > 0 ? $"png {output.Length} bytes" : throw new InvalidOperationException("resize failed"));
    }

    public static Task<string> NodaTime()
    {
        DateTimeZone london = DateTimeZoneProviders.Tzdb["Europe/London"];
        ZonedDateTime summer = new LocalDateTime(2026, 7, 1, 12, 0).InZoneStrictly(london);
        Period period = Period.Between(new LocalDate(2026, 1, 1), new LocalDate(2026, 7, 1));
        return Task.FromResult(summer.Offset == Offset.FromHours(1) && period.Months == 6 ? "offset +1, 6 months" : throw new InvalidOperationException(summer.ToString()));
    }

    public static Task<string> Humanizer()
    {
        string text = "SomeOrderTitle".Humanize() + "; " + TimeSpan.FromMinutes(90).Humanize(2) + "; " + "order".ToQuantity(3);
        return Task.FromResult(text.Contains("Some order title") && text.Contains("3 orders") ? text : throw new InvalidOperationException(text));
    }

    public static Task<string> MathNetNumerics()
    {
        Matrix<double> a = Matrix<double>.Build.Dense(20, 20, (i, j) => i == j ? 4 : 1.0 / (1 + i + j));
        Matrix<double> identity = a * a.Inverse();
        double error = (identity - Matrix<double>.Build.DenseIdentity(20)).FrobeniusNorm();
        return Task.FromResult(error < 1e-9 ? $"inverse error {error:E1}" : throw new InvalidOperationException($"error {error}"));
    }

    public static Task<string> BCrypt()
    {
        string hash = global::BCrypt.Net.BCrypt.HashPassword("correct horse", workFactor: 4);
        return Task.FromResult(global::BCrypt.Net.BCrypt.Verify("correct horse", hash) && !global::BCrypt.Net.BCrypt.Verify("wrong", hash)
            ? "verified" : throw new InvalidOperationException("verify failed"));
    }

    public static async Task<string> GrpcNetClient()
    {
        // No server: a unary call to a closed local port must fail with Unavailable, through the whole client stack.
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress("http://127.0.0.1:9");
        var method = new global::Grpc.Core.Method<byte[], byte[]>(
            global::Grpc.Core.MethodType.Unary, "compat.Echo", "Say",
            global::Grpc.Core.Marshallers.Create(b => b, b => b), global::Grpc.Core.Marshallers.Create(b => b, b => b));
        try
        {
            await channel.CreateCallInvoker().AsyncUnaryCall(method, null, new global::Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(5)), [1, 2, 3]);
            throw new InvalidOperationException("a call to a closed port succeeded");
        }
        catch (global::Grpc.Core.RpcException e) when (e.StatusCode is global::Grpc.Core.StatusCode.Unavailable)
        {
            return "Unavailable, as expected";
        }
    }

    public static Task<string> LinqExpressionsCompiled() => Task.FromResult(Expressions(preferInterpretation: false));

    public static Task<string> LinqExpressionsInterpreted() => Task.FromResult(Expressions(preferInterpretation: true));

    private static string Expressions(bool preferInterpretation)
    {
        ParameterExpression order = Expression.Parameter(typeof(Order), "o");
        var total = Expression.Lambda<Func<Order, decimal>>(
            Expression.Multiply(Expression.Property(order, nameof(Order.Total)), Expression.Constant(2m)), order).Compile(preferInterpretation);
        Func<int, int> square = BuildSquare(preferInterpretation);
        decimal value = total(new Order(1, "c", 2.5m, []));
        return value == 5m && square(7) == 49 ? "5, 49" : throw new InvalidOperationException($"{value}");
    }

    private static Func<int, int> BuildSquare(bool preferInterpretation)
    {
        ParameterExpression x = Expression.Parameter(typeof(int), "x");
        return Expression.Lambda<Func<int, int>>(Expression.Multiply(x, x), x).Compile(preferInterpretation);
    }
}
