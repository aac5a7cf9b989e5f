using System.Reflection;

namespace Isolates.Calls;

/// <summary>
/// Reads the result of a completed <c>Task&lt;T&gt;</c> whose T may be one of an isolate's types (only reflection reaches
/// it); the getter is cached for the last task type seen. Shared by in-process calls (<see cref="TargetPlan"/>) and calls
/// run for a child process's host (<see cref="Processes.WireTarget"/>). Used on one isolate's thread at a time.
/// </summary>
internal sealed class TaskResult
{
    private MethodInfo? _getter;
    private Type? _owner;

    public object? Of(Task completed)
    {
        Type taskType = completed.GetType();
        MethodInfo? getter = _getter;
        if (_owner != taskType || getter is null)
        {
            getter = taskType.GetProperty(nameof(Task<int>.Result))!.GetMethod!;
            _getter = getter;
            _owner = taskType;
        }

        return getter.Invoke(completed, BindingFlags.DoNotWrapExceptions, null, null, null);
    }

    /// <summary>T of a <c>Task&lt;T&gt;</c> or <c>ValueTask&lt;T&gt;</c> return type (or of a type derived from Task&lt;T&gt;); null for anything else.</summary>
    public static Type? TypeInside(Type returnType)
    {
        for (Type? t = returnType; t is not null; t = t.BaseType)
        {
            if (t.IsConstructedGenericType && (t.GetGenericTypeDefinition() == typeof(Task<>) || t.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            {
                return t.GenericTypeArguments[0];
            }
        }

        return null;
    }
}
