namespace Isolates.Tests.Scripting;

/// <summary>A temporary folder of script files for one test, deleted afterwards.</summary>
internal sealed class TempScripts : IDisposable
{
    public TempScripts()
    {
        Directory = Path.Combine(Path.GetTempPath(), "isolates-scripts-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    /// <summary>Writes <paramref name="text"/> to <paramref name="relativePath"/> and returns the full path.</summary>
    public string Write(string relativePath, string text)
    {
        string path = Path.Combine(Directory, relativePath);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp folder left behind is harmless
        }
    }
}
