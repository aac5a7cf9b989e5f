using System.Diagnostics;
using System.Reflection;

namespace Isolates.Proxies;

/// <summary>
/// The functions object creation and release run inside the owning isolate, through the ordinary call path
/// (<c>CallAsync</c>), so they are ordered with the object's calls and work for child-process isolates too. Generic
/// over the implementation type, which the call path maps to the isolate's own copy.
/// </summary>
internal static class ObjectConstruction
{
    internal static long Create<TImpl>() => Add(Construct(typeof(TImpl), [], []));

    internal static long Create<TImpl, T1>(T1 arg1) => Add(Construct(typeof(TImpl), [typeof(T1)], [arg1]));

    internal static long Create<TImpl, T1, T2>(T1 arg1, T2 arg2) => Add(Construct(typeof(TImpl), [typeof(T1), typeof(T2)], [arg1, arg2]));

    internal static long Create<TImpl, T1, T2, T3>(T1 arg1, T2 arg2, T3 arg3) =>
        Add(Construct(typeof(TImpl), [typeof(T1), typeof(T2), typeof(T3)], [arg1, arg2, arg3]));

    internal static long Create<TImpl, T1, T2, T3, T4>(T1 arg1, T2 arg2, T3 arg3, T4 arg4) =>
        Add(Construct(typeof(TImpl), [typeof(T1), typeof(T2), typeof(T3), typeof(T4)], [arg1, arg2, arg3, arg4]));

    /// <summary>Removes the object from its isolate's table and disposes it if it is disposable (an explicit release).</summary>
    internal static async Task ReleaseAsync(long id)
    {
        object? removed = Current().RemoveObject(id);
        if (removed is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync();
        }
        else if (removed is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    /// <summary>The constructor the caller checked exists (public, exactly these parameter types); exceptions propagate unwrapped.</summary>
    private static object Construct(Type implementation, Type[] parameterTypes, object?[] arguments)
    {
        ConstructorInfo constructor = implementation.GetConstructor(BindingFlags.Public | BindingFlags.Instance, parameterTypes)
            ?? throw new MissingMethodException($"{implementation} has no public constructor taking ({string.Join(", ", parameterTypes.Select(t => t.Name))}).");
        return constructor.Invoke(BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null);
    }

    private static long Add(object value) => Current().AddObject(value);

    private static Isolate Current()
    {
        Isolate? isolate = Isolate.OnThisThread;
        Debug.Assert(isolate is not null, "runs as a call, on the isolate's thread");
        return isolate ?? throw new InvalidOperationException("Objects are created and released on their isolate's thread only.");
    }
}
