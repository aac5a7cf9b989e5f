using System.Reflection;
using Isolates.Calls;
using Isolates.Wire;

namespace Isolates.Processes;

/// <summary>
/// The child's side of a function called across the process boundary: the method found by assembly identity and
/// metadata token, mapped into the child's isolate like any in-process call, and the isolate-side codecs of every
/// argument and of the result (everything crosses encoded: no value can pass by reference between processes).
/// </summary>
internal sealed class WireTarget
{
    private WireTarget(MethodInfo method, object? instance, Codec?[] arguments, Codec? result, ResultShape shape)
    {
        Method = method;
        Instance = instance;
        ArgumentCodecs = arguments;
        ResultCodec = result;
        Shape = shape;
        Invoker = MethodInvoker.Create(method);
        EncodedCount = arguments.Count(codec => codec is not null);
    }

    public MethodInfo Method { get; }

    public object? Instance { get; }

    /// <summary>Per parameter: the codec, or null for a <see cref="CancellationToken"/> (the call's own token).</summary>
    public Codec?[] ArgumentCodecs { get; }

    public int EncodedCount { get; }

    public Codec? ResultCodec { get; }

    public ResultShape Shape { get; }

    public MethodInvoker Invoker { get; }

    private readonly TaskResult _taskResult = new();

    /// <summary>Reads a completed <c>Task&lt;T&gt;</c>'s result (T may be one of the isolate's types).</summary>
    public object? ResultOf(Task completed) => _taskResult.Of(completed);

    public string DisplayName => $"{Method.DeclaringType?.FullName}.{Method.Name}";

    /// <summary>Built on the isolate's thread, where the isolate's context resolves the isolate's own types.</summary>
    public static WireTarget Create(CallHeader header, Isolate isolate)
    {
        (string assemblyName, int token, ResultShape shape) = (header.Assembly, header.Token, header.Shape);
        Assembly assembly = Load(assemblyName);
        if (assembly.ManifestModule.ResolveMethod(token) is not MethodInfo resolved)
        {
            throw new NotShareableException(null, string.Empty, $"Metadata token 0x{token:X8} of '{assemblyName}' is not a method in the child process: the child runs a different build of that assembly than the host.");
        }

        if (header.GenericArguments.Length > 0)
        {
            Type[] arguments = [.. header.GenericArguments.Select(a => Load(a.Assembly).ManifestModule.ResolveType(a.Token))];
            resolved = resolved.MakeGenericMethod(arguments);
        }

        return Create(resolved, shape, isolate);
    }

    private static Assembly Load(string assemblyName)
    {
        try
        {
            return Assembly.Load(new AssemblyName(assemblyName));
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new NotShareableException(null, string.Empty,
                $"The child process cannot load assembly '{assemblyName}', which declares the function: a child-process isolate runs the application's own assemblies " +
                $"(those its .deps.json lists), not assemblies loaded from memory or from other folders at run time ({ex.Message}).");
        }
    }

    private static WireTarget Create(MethodInfo resolved, ResultShape shape, Isolate isolate)
    {
        MethodInfo method = Loader.MemberMapper.MapMethod(resolved, isolate.InProcess.LoadContext);
        object? instance = null;
        if (!method.IsStatic)
        {
            // A lambda that captures nothing: an instance method on the compiler's singleton (the host checked that).
            instance = method.DeclaringType!.GetField("<>9", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)?.GetValue(null)
                ?? throw new NotShareableException(method.DeclaringType, string.Empty, $"{method.DeclaringType}.{method.Name} is an instance method; only static methods and lambdas that capture nothing can be called.");
        }

        ParameterInfo[] parameters = method.GetParameters();
        var codecs = new Codec?[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            codecs[i] = parameters[i].ParameterType == typeof(CancellationToken) ? null : CodecFactory.Get(parameters[i].ParameterType);
        }

        Codec? result = shape switch
        {
            ResultShape.Value when method.ReturnType != typeof(void) => CodecFactory.Get(method.ReturnType),
            ResultShape.TaskOfT or ResultShape.ValueTaskOfT => CodecFactory.Get(ResultTypeInside(method.ReturnType)),
            _ => null,
        };
        return new WireTarget(method, instance, codecs, result, shape);
    }

    private static Type ResultTypeInside(Type returnType) =>
        TaskResult.TypeInside(returnType) ?? throw new NotShareableException(returnType, string.Empty, $"{returnType} is not a Task<T> or ValueTask<T>.");
}
