using System.Runtime.CompilerServices;

namespace Isolates.Dispatcher;

/// <summary>
/// Names the code a posted callback runs, for diagnostics only (never on a hot path): an <c>await</c> resuming posts
/// the async method's state machine box, whose type argument is the compiler's state machine <c>&lt;Method&gt;d__N</c>
/// nested in the method's class, so "the continuation of Orders.LoadAsync" can be told.
/// </summary>
internal static class ContinuationNames
{
    public static string Describe(SendOrPostCallback callback, object? state)
    {
        try
        {
            // Task.Yield posts the state machine box itself; an awaited task posts the box's MoveNext delegate.
            Delegate target = state as Delegate ?? callback;
            if ((AsyncMethod(state) ?? AsyncMethod(target.Target)) is { } method)
            {
                return "the continuation of " + method;
            }

            return target.Method.DeclaringType is { } declaring && !declaring.Name.StartsWith('<')
                ? $"a posted callback ({declaring.Name}.{target.Method.Name})"
                : "a posted callback";
        }
        catch (Exception)
        {
            return "a posted callback"; // reflection over user types must not break a diagnostic
        }
    }

    /// <summary>"Class.Method" of the async method whose state machine (or its box) <paramref name="target"/> is; otherwise null.</summary>
    private static string? AsyncMethod(object? target)
    {
        if (target is null)
        {
            return null;
        }

        Type type = target.GetType();
        if (target is IAsyncStateMachine)
        {
            return Name(type);
        }

        foreach (Type argument in type.IsGenericType ? type.GetGenericArguments() : [])
        {
            if (typeof(IAsyncStateMachine).IsAssignableFrom(argument))
            {
                return Name(argument);
            }
        }

        return null;
    }

    private static string Name(Type stateMachine)
    {
        // The compiler names it <LoadAsync>d__3 (a local function: <Outer>g__Inner|0_0>d).
        string name = stateMachine.Name;
        int end = name.IndexOf('>', StringComparison.Ordinal);
        string method = name.StartsWith('<') && end > 1 ? name[1..end] : name;
        return stateMachine.DeclaringType is { } declaring ? $"{declaring.Name}.{method}" : method;
    }
}
