namespace Isolates.Tests.Scripting;

/// <summary>
/// Redirects <see cref="Console.Out"/> for the duration of a test, because scripts write to the process's console
/// (shared by every isolate). Tests that use it must not run in parallel with each other.
/// </summary>
internal sealed class CapturedConsole : IDisposable
{
    private readonly TextWriter _original;
    private readonly StringWriter _captured = new();

    public CapturedConsole()
    {
        _original = Console.Out;
        Console.SetOut(_captured);
    }

    public string Text
    {
        get
        {
            Console.Out.Flush();
            return _captured.ToString();
        }
    }

    public void Dispose()
    {
        Console.SetOut(_original);
        _captured.Dispose();
    }
}
