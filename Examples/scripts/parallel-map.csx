// parallel-map.csx: count lines and words of every file in a folder, one file per item, spread over a pool.
// Run: dotnet run --project tools/Isolates.Cli -- run Examples/scripts/parallel-map.csx [folder] [pattern]
// The function and the record below are defined in this script; pool isolates load the same compiled bytes.
string folder = args.Length > 0 ? args[0] : Path.GetDirectoryName(ScriptEnvironment.ScriptPath!)!;
string pattern = args.Length > 1 ? args[1] : "*.*";
if (!Directory.Exists(folder))
{
    Console.Error.WriteLine($"no folder '{folder}'");
    return 2;
}

string[] files = Directory.GetFiles(folder, pattern, SearchOption.AllDirectories);
await using IsolatePool pool = await IsolatePool.CreateAsync(size: Math.Min(Environment.ProcessorCount, 4));
IReadOnlyList<FileStats> stats = await pool.MapAsync(files, Count);   // ordered like the input

foreach (FileStats s in stats.OrderByDescending(s => s.Words).Take(10))
{
    Console.WriteLine($"{s.Words,8} words {s.Lines,6} lines  {Path.GetRelativePath(folder, s.Path)}  (counted in {s.Isolate})");
}

Console.WriteLine($"{stats.Count} files, {stats.Sum(s => s.Words)} words, {stats.Select(s => s.Isolate).Distinct().Count()} isolates used");
return 0;

static FileStats Count(string path)
{
    int lines = 0, words = 0;
    foreach (string line in File.ReadLines(path))
    {
        lines++;
        words += line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
    }

    return new FileStats(path, lines, words, Isolate.Current!.Name);
}

[Shareable]
public sealed record FileStats(string Path, int Lines, int Words, string Isolate);
