using Spectre.Console;

namespace Isolates.Cli;

/// <summary>
/// Where the tool writes: stdout for results, stderr for errors and progress, each also seen through
/// Spectre.Console for colour and the spinner. A stream gets colour only when it is the real, unredirected console
/// and NO_COLOR is not set, so logs, pipes and tests get plain text.
/// </summary>
internal sealed class Terminal
{
    // Copies run in parallel (--isolates N) and report their errors from thread-pool threads: one lock keeps each
    // multi-line block (an error and its frames) together and keeps Spectre.Console's writers single-threaded.
    private readonly Lock _gate = new();

    public Terminal(TextWriter output, TextWriter error)
    {
        Output = output;
        Error = error;
        bool noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        Interactive = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        StyledOutput = Create(output, ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected, noColor);
        StyledError = Create(error, Interactive, noColor);
    }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>Whether stderr is a terminal a spinner can redraw.</summary>
    public bool Interactive { get; }

    /// <summary>Stdout through Spectre.Console.</summary>
    public IAnsiConsole StyledOutput { get; }

    /// <summary>Stderr through Spectre.Console.</summary>
    public IAnsiConsole StyledError { get; }

    /// <summary>Writes one line to stderr with Spectre markup (plain text when colour is off).</summary>
    public void ErrorLine(string markup) => ErrorLines([markup]);

    /// <summary>Writes lines to stderr as one block: no other copy's lines come between them.</summary>
    public void ErrorLines(IReadOnlyList<string> markup)
    {
        lock (_gate)
        {
            foreach (string line in markup)
            {
                StyledError.MarkupLine(line);
            }
        }
    }

    /// <summary>Writes one line to stdout with Spectre markup (plain text when colour is off).</summary>
    public void OutputLine(string markup)
    {
        lock (_gate)
        {
            StyledOutput.MarkupLine(markup);
        }
    }

    /// <summary>Runs <paramref name="work"/> under a spinner on an interactive stderr, or plainly otherwise.</summary>
    public async Task<T> WithStatusAsync<T>(string message, Func<Task<T>> work)
    {
        if (!Interactive)
        {
            return await work();
        }

        return await StyledError.Status().StartAsync(Markup.Escape(message), _ => work());
    }

    private static IAnsiConsole Create(TextWriter writer, bool isConsole, bool noColor)
    {
        bool colour = isConsole && !noColor;
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = colour ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = colour ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isConsole ? InteractionSupport.Yes : InteractionSupport.No,
        });

        // Diagnostics and stack frames must stay one per line (editors and CI parse them): never wrap.
        console.Profile.Width = 32_767;
        return console;
    }
}
