using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;

namespace Isolates.Scripting;

/// <summary>
/// The functions that run inside the isolate: they load the compiled script into the isolate's own context (by its
/// registered name) and call its entry point on the isolate's thread. This assembly is shared, so these methods are
/// the same in every isolate; they keep no reference to what they load, so the isolate can still unload.
/// </summary>
internal static class ScriptEntry
{
    private const BindingFlags StaticMembers = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;

    /// <summary>Runs a compiled program's top-level statements and returns its exit code.</summary>
    public static async Task<int> RunAsync(string assemblyName, string[] args, int index, int count)
    {
        Isolate isolate = Isolate.Current ?? throw new InvalidOperationException("Scripts run only inside an isolate.");
        ScriptEnvironment.Set(isolate, new ScriptEnvironment.ScriptRun(index, count, ScriptCompiler.FindByAssemblyName(assemblyName)?.FilePath, args));
        Assembly assembly = Load(assemblyName);

        // Top-level statements compile to Program.<Main>$; for async statements the assembly's entry point is a
        // synchronous wrapper that blocks on the task, which would deadlock the isolate's single thread.
        MethodInfo main = assembly.GetType("Program")?.GetMethod("<Main>$", StaticMembers)
            ?? assembly.EntryPoint
            ?? throw new InvalidOperationException($"The script '{assemblyName}' has no top-level statements to run.");
        object? result = main.Invoke(null, BindingFlags.DoNotWrapExceptions, null, main.GetParameters().Length == 0 ? [] : [args], null);
        switch (result)
        {
            case int code:
                return code;
            case Task<int> codeTask:
                return await codeTask;
            case Task task:
                await task;
                return 0;
            default:
                return 0;
        }
    }

    /// <summary>Evaluates a compiled expression.</summary>
    public static T Eval<T>(string assemblyName)
    {
        Assembly assembly = Load(assemblyName);
        MethodInfo run = assembly.GetType(ScriptCompiler.EvalType)?.GetMethod("Run", StaticMembers)
            ?? throw new InvalidOperationException($"The compiled expression '{assemblyName}' has no Run method.");
        return (T)run.Invoke(null, BindingFlags.DoNotWrapExceptions, null, [], null)!;
    }

    private static Assembly Load(string assemblyName)
    {
        AssemblyLoadContext context = AssemblyLoadContext.CurrentContextualReflectionContext
            ?? throw new InvalidOperationException("Scripts run only inside an isolate.");
        Debug.Assert(Isolate.Current is not null, "the contextual reflection context is set only for isolate code");
        return context.LoadFromAssemblyName(new AssemblyName(assemblyName));
    }
}
