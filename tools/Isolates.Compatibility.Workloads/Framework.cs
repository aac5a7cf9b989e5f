using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Isolates.Compatibility.Workloads;

/// <summary>A service the dependency-injection workload resolves.</summary>
public interface IGreeter
{
    string Greet(string name);
}

internal sealed class Greeter(ILogger<Greeter> logger) : IGreeter
{
    public string Greet(string name)
    {
        logger.LogInformation("Greeting {Name}", name);
        return $"hello {name}";
    }
}

/// <summary>Framework features that cache per type or compile code: regular expressions, HTTP, crypto, compression, DI.</summary>
public static partial class Framework
{
    private const string Text = "order-123 shipped to a@b.example on 2026-01-02; order-456 pending for c@d.example";
    private const string Pattern = @"order-(\d+)";

    [GeneratedRegex(Pattern)]
    private static partial Regex OrderNumber();

    private static string Count(Regex regex)
    {
        int count = regex.Matches(Text).Count;
        return count == 2 ? "2 matches" : throw new InvalidOperationException($"{count} matches");
    }

    public static Task<string> RegexInterpreted() => Task.FromResult(Count(new Regex(Pattern)));

    public static Task<string> RegexCompiled() => Task.FromResult(Count(new Regex(Pattern, RegexOptions.Compiled)));

    public static Task<string> RegexSourceGenerated() => Task.FromResult(Count(OrderNumber()));

    public static async Task<string> HttpClient()
    {
        // A one-request HTTP server on loopback, so the workload needs no network.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task serve = Serve(listener);
        using var client = new System.Net.Http.HttpClient();
        string body = await client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/"));
        await serve;
        return body == "ok" ? "GET 200 ok" : throw new InvalidOperationException(body);

        static async Task Serve(TcpListener listener)
        {
            using TcpClient connection = await listener.AcceptTcpClientAsync();
            NetworkStream stream = connection.GetStream();
            byte[] buffer = new byte[4096];
            int read = 0;
            while (!Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                read += await stream.ReadAsync(buffer.AsMemory(read));
            }

            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray());
        }
    }

    public static Task<string> Cryptography()
    {
        byte[] data = Encoding.UTF8.GetBytes(Text);
        byte[] hash = SHA256.HashData(data);
        byte[] mac = HMACSHA256.HashData(hash, data);
        using var aes = Aes.Create();
        byte[] encrypted = aes.EncryptCbc(data, aes.IV);
        byte[] decrypted = aes.DecryptCbc(encrypted, aes.IV);
        using var rsa = RSA.Create(1024);
        byte[] signature = rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        bool ok = decrypted.AsSpan().SequenceEqual(data) && mac.Length == 32 && rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return Task.FromResult(ok ? "sha256, hmac, aes, rsa" : throw new InvalidOperationException("crypto round trip failed"));
    }

    public static Task<string> Compression()
    {
        byte[] data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Text, 50)));
        using var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(data);
        }

        long gzippedLength = gzipped.Length;
        gzipped.Position = 0;
        using var unzipped = new MemoryStream();
        using (var gunzip = new GZipStream(gzipped, CompressionMode.Decompress))
        {
            gunzip.CopyTo(unzipped);
        }

        using var zipped = new MemoryStream();
        using (var archive = new ZipArchive(zipped, ZipArchiveMode.Create, leaveOpen: true))
        {
            using Stream entry = archive.CreateEntry("orders.txt").Open();
            entry.Write(data);
        }

        zipped.Position = 0;
        using var read = new ZipArchive(zipped, ZipArchiveMode.Read);
        bool ok = unzipped.ToArray().AsSpan().SequenceEqual(data) && read.Entries[0].Length == data.Length;
        return Task.FromResult(ok ? $"gzip {gzippedLength} bytes, zip" : throw new InvalidOperationException("compression round trip failed"));
    }

    public static Task<string> DependencyInjectionAndLogging()
    {
        var services = new ServiceCollection();
        services.AddLogging(builder => builder.SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<IGreeter, Greeter>();
        using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        using IServiceScope scope = provider.CreateScope();
        string greeting = scope.ServiceProvider.GetRequiredService<IGreeter>().Greet("isolate");
        return Task.FromResult(greeting == "hello isolate" ? greeting : throw new InvalidOperationException(greeting));
    }
}
