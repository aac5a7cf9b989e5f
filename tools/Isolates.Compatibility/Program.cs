using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Isolates;
using Isolates.Compatibility;

// Runs each library's workload in fresh isolates and prints (or, with --write, writes docs/compatibility.md) the table.
//   dotnet run -c Release --project tools/Isolates.Compatibility -- [--write] [--only NAME] [--runs N]
string? only = null;
bool write = false;
int runs = 3;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--write":
            write = true;
            break;
        case "--only" when i + 1 < args.Length:
            only = args[++i];
            break;
        case "--runs" when i + 1 < args.Length && int.TryParse(args[i + 1], out int n) && n > 0:
            runs = n;
            i++;
            break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. Usage: Isolates.Compatibility [--write] [--only NAME] [--runs N]\nLibraries: {string.Join(", ", Catalog.All.Select(l => l.Name))}");
            return 2;
    }
}

Library[] selected = only is null
    ? Catalog.All
    : [.. Catalog.All.Where(l => l.Name.Contains(only, StringComparison.OrdinalIgnoreCase))];
if (selected.Length == 0)
{
    Console.Error.WriteLine($"--only '{only}' matches no library. Libraries: {string.Join(", ", Catalog.All.Select(l => l.Name))}");
    return 2;
}

if (write && only is not null)
{
    Console.Error.WriteLine("--write rewrites the whole table: run it without --only.");
    return 2;
}

var total = Stopwatch.StartNew();
var results = new List<LibraryResult>();
foreach (Library library in selected)
{
    LibraryResult result = await Runner.RunAsync(library, runs);
    results.Add(result);
    Console.WriteLine(Report.Line(result));
}

Console.WriteLine($"{results.Count} libraries in {total.Elapsed.TotalSeconds:0} s");
if (write)
{
    string path = Report.FindDocsPath();
    string command = "dotnet run -c Release --project tools/Isolates.Compatibility -- --write";
    string machine = $"{RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}";
    await File.WriteAllTextAsync(path, Report.Markdown(results, runs, command, machine, DateTime.UtcNow, total.Elapsed), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    Console.WriteLine($"wrote {path}");
}

return 0;
