using Isolates.Overloads;

// Usage: dotnet run --project tools/Isolates.Overloads [-- --check]
// Writes every generated file under the repository root (found by walking up to Isolates.sln); with --check,
// writes nothing and exits 1 if a committed file differs from what the template produces.
bool check = args.Contains("--check");
string root = OverloadTemplate.FindRepositoryRoot(AppContext.BaseDirectory)
    ?? OverloadTemplate.FindRepositoryRoot(Directory.GetCurrentDirectory())
    ?? throw new InvalidOperationException("Isolates.sln not found above the tool or the current directory: run it from inside the repository.");

int stale = 0;
foreach (GeneratedFile file in OverloadTemplate.Files())
{
    string path = Path.Combine(root, file.RelativePath);
    bool same = File.Exists(path) && File.ReadAllText(path) == file.Text;
    if (same)
        continue;
    stale++;
    if (check)
    {
        Console.Error.WriteLine($"{file.RelativePath} differs from the template.");
    }
    else
    {
        File.WriteAllText(path, file.Text);
        Console.WriteLine($"wrote {file.RelativePath}");
    }
}

if (check && stale > 0)
{
    Console.Error.WriteLine("Run: dotnet run --project tools/Isolates.Overloads");
    return 1;
}

Console.WriteLine(stale == 0 ? "generated files are up to date" : $"{stale} file(s) written");
return 0;
