using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.Loader;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Floors;

/// <summary>
/// The floor under an isolate: what any design on .NET must pay for private statics and a thread of its own. A new
/// collectible <see cref="AssemblyLoadContext"/> with its own copy of this assembly, and one dedicated thread that runs
/// the work handed to it (through a blocking inbox) and signals back through a task. No codecs, no call plans, no
/// state machine, no unload check.
/// </summary>
public sealed class BareIsolate
{
    private static readonly string AssemblyPath = typeof(Workload).Assembly.Location;

    private readonly BlockingCollection<Action> _inbox = [];
    private readonly Thread _thread;
    private AssemblyLoadContext? _context;
    private Assembly? _assembly;

    private BareIsolate()
    {
        _context = new AssemblyLoadContext("bare-isolate", isCollectible: true);
        _assembly = _context.LoadFromAssemblyPath(AssemblyPath);
        _thread = new Thread(RunInbox) { IsBackground = true, Name = "bare-isolate" };

        // As the runtime does: nothing of the creator's execution context flows into (and pins) the context.
        using (ExecutionContext.SuppressFlow())
        {
            _thread.Start();
        }
    }

    /// <summary>Creates the context, loads the assembly into it and starts the thread.</summary>
    public static BareIsolate Start() => new();

    /// <summary>Runs <paramref name="work"/> on the thread, given the context's copy of this assembly.</summary>
    public Task<T> RunAsync<T>(Func<Assembly, T> work)
    {
        // Continuations run on the thread pool, as they do for Isolate.CallAsync, never on the dedicated thread.
        var reply = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Assembly assembly = _assembly ?? throw new InvalidOperationException("The bare isolate was stopped.");
        _inbox.Add(() =>
        {
            try
            {
                reply.SetResult(work(assembly));
            }
            catch (Exception ex)
            {
                reply.SetException(ex is TargetInvocationException { InnerException: { } inner } ? inner : ex);
            }
        });
        return reply.Task;
    }

    /// <summary>Stops the thread and unloads the context; the returned reference dies once the context is collected.</summary>
    public WeakReference Stop()
    {
        _inbox.CompleteAdding();
        _thread.Join();
        var reference = new WeakReference(_context);
        _context!.Unload();
        _context = null;
        _assembly = null;
        return reference;
    }

    private void RunInbox()
    {
        foreach (Action work in _inbox.GetConsumingEnumerable())
        {
            work();
        }
    }
}
