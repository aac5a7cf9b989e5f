using System.Reflection;

namespace Isolates.Hosting.Workers;

/// <summary>
/// What a worker type must look like, checked when it is registered (so a mistake fails while the host is built) and
/// used inside the isolate to call it: a public non-abstract class with a public constructor (parameterless, or
/// taking the registered argument type) and a public instance <c>RunAsync(CancellationToken)</c> returning
/// <see cref="Task"/> or <see cref="ValueTask"/>.
/// </summary>
internal static class WorkerShape
{
    public const string EntryPointName = "RunAsync";

    public static void Validate(Type workerType, Type? argumentType)
    {
        string name = workerType.FullName ?? workerType.Name;
        string fix = $"A worker is a public class with a public constructor {(argumentType is null ? "without parameters" : $"taking one {argumentType.Name}")} and 'public Task RunAsync(CancellationToken cancellationToken)' that runs inside the isolate.";
        if (!workerType.IsClass || workerType.IsAbstract || workerType.ContainsGenericParameters || !(workerType.IsPublic || workerType.IsNestedPublic))
        {
            throw new ArgumentException($"Worker type '{name}' must be a public, non-abstract, non-generic class. {fix}", nameof(workerType));
        }

        if (FindEntryPoint(workerType) is null)
        {
            MethodInfo? wrong = workerType.GetMethod(EntryPointName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static);
            string found = wrong is null ? "it has no RunAsync method" : $"its RunAsync is '{wrong}'";
            throw new ArgumentException($"Worker type '{name}' has no usable entry point: {found}. {fix}", nameof(workerType));
        }

        Type[] parameters = argumentType is null ? [] : [argumentType];
        if (workerType.GetConstructor(BindingFlags.Public | BindingFlags.Instance, parameters) is null)
        {
            throw new ArgumentException($"Worker type '{name}' has no public constructor {(argumentType is null ? "without parameters" : $"taking one {argumentType.FullName}")}. {fix}", nameof(workerType));
        }
    }

    /// <summary>The public instance <c>RunAsync(CancellationToken)</c> returning Task or ValueTask, or null.</summary>
    public static MethodInfo? FindEntryPoint(Type workerType)
    {
        MethodInfo? method = workerType.GetMethod(EntryPointName, BindingFlags.Public | BindingFlags.Instance, [typeof(CancellationToken)]);
        return method is not null && (typeof(Task).IsAssignableFrom(method.ReturnType) || method.ReturnType == typeof(ValueTask)) ? method : null;
    }
}
