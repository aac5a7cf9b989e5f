using Isolates.Compatibility.Workloads;

namespace Isolates.Compatibility;

/// <summary>One library and the workload that exercises it.</summary>
/// <param name="Name">Name in the table and for <c>--only</c>.</param>
/// <param name="Assemblies">
/// The library's own assemblies, shared (with their dependencies) in the shared mode; empty for framework features,
/// which are always shared and so have no such mode.
/// </param>
/// <param name="Workload">Runs in the isolate; returns what it checked, throws if the result was wrong.</param>
/// <param name="GlobalSettings">The process-wide settings sharing would merge across isolates, if the library has any.</param>
internal sealed record Library(string Name, string[] Assemblies, Func<Task<string>> Workload, string? GlobalSettings = null)
{
    public bool IsFramework => Assemblies.Length == 0;
}

/// <summary>The libraries the tool runs, in table order.</summary>
internal static class Catalog
{
    // Microsoft.Data.Sqlite loads its native-library glue by name at run time (no metadata reference to follow), so
    // sharing it means naming that assembly too.
    private const string Batteries = "SQLitePCLRaw.batteries_v2";

    public static readonly Library[] All =
    [
        new("System.Text.Json (reflection)", [], Serialization.SystemTextJsonReflection),
        new("System.Text.Json (source-generated)", [], Serialization.SystemTextJsonSourceGenerated),
        new("Newtonsoft.Json", ["Newtonsoft.Json"], Serialization.NewtonsoftJson, "`JsonConvert.DefaultSettings`"),
        new("YamlDotNet", ["YamlDotNet"], Serialization.YamlDotNet),
        new("Google.Protobuf", ["Google.Protobuf"], Serialization.Protobuf),
        new("CsvHelper", ["CsvHelper"], Serialization.CsvHelper),
        new("Mapster", ["Mapster"], Serialization.Mapster, "`TypeAdapterConfig.GlobalSettings`"),
        new("Serilog", ["Serilog"], Libraries.Serilog, "`Log.Logger`, `SelfLog`"),
        new("Polly", ["Polly.Core"], Libraries.Polly),
        new("Microsoft.Data.Sqlite", ["Microsoft.Data.Sqlite", Batteries], Data.MicrosoftDataSqlite),
        new("Dapper (+ Sqlite)", ["Dapper", "Microsoft.Data.Sqlite", Batteries], Data.Dapper, "`SqlMapper` type handlers and type map"),
        new("EF Core + Sqlite", ["Microsoft.EntityFrameworkCore.Sqlite", Batteries], Data.EntityFrameworkCore),
        new("SixLabors.ImageSharp", ["SixLabors.ImageSharp"], Libraries.ImageSharp, "`Configuration.Default`"),
        new("NodaTime", ["NodaTime"], Libraries.NodaTime),
        new("Humanizer", ["Humanizer"], Libraries.Humanizer, "`Configurator` (vocabularies, strategies)"),
        new("MathNet.Numerics", ["MathNet.Numerics"], Libraries.MathNetNumerics, "`Control` (providers, parallelism)"),
        new("BCrypt.Net-Next", ["BCrypt-Net-Next"], Libraries.BCrypt),
        new("Grpc.Net.Client", ["Grpc.Net.Client"], Libraries.GrpcNetClient),
        new("Regex (interpreted)", [], Framework.RegexInterpreted),
        new("Regex (Compiled)", [], Framework.RegexCompiled),
        new("Regex ([GeneratedRegex])", [], Framework.RegexSourceGenerated),
        new("HttpClient", [], Framework.HttpClient),
        new("Cryptography (SHA-256, HMAC, AES, RSA)", [], Framework.Cryptography),
        new("Compression (GZip, Zip)", [], Framework.Compression),
        new("M.E.DependencyInjection + Logging", [], Framework.DependencyInjectionAndLogging),
        new("Linq.Expressions Compile()", [], Libraries.LinqExpressionsCompiled),
        new("Linq.Expressions Compile(preferInterpretation)", [], Libraries.LinqExpressionsInterpreted),
    ];
}
