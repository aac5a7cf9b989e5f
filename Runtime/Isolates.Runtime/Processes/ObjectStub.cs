using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using Isolates.CompilerServices;
using Isolates.Wire;

namespace Isolates.Processes;

/// <summary>
/// The host's side of a generated dispatcher stub a child-process isolate calls on one of the host's objects: the
/// host's copy of the stub (found by assembly identity and metadata token, as calls to a child find functions), the
/// host's codecs of its parameters and result, and the <see cref="ObjectReference"/> call it makes, so the child's call
/// is made here exactly as this process's own proxy of the object would make it.
/// </summary>
/// <remarks>
/// Only stubs the Isolates generator wrote for the interface the object was exported under can be named: a child
/// cannot make the host run any other method.
/// </remarks>
internal sealed class ObjectStub
{
    private static readonly ConcurrentDictionary<(string Assembly, int Token), ObjectStub> Cache = new();

    private readonly Delegate _function;
    private readonly MethodInvoker _call;
    private readonly Codec?[] _codecs; // per stub parameter after the object id: null for a token
    private readonly Codec[] _encoded; // the non-null ones, in order: what the payload holds
    private readonly MethodInvoker? _resultGetter;

    private ObjectStub(string interfaceName, string name, Delegate function, MethodInvoker call, Codec?[] codecs, Codec? resultCodec, MethodInfo? resultGetter)
    {
        InterfaceName = interfaceName;
        Name = name;
        _function = function;
        _call = call;
        _codecs = codecs;
        _encoded = [.. codecs.OfType<Codec>()]; // once per stub, not per call
        ResultCodec = resultCodec;
        _resultGetter = resultGetter is null ? null : MethodInvoker.Create(resultGetter);
    }

    /// <summary>The full name of the interface whose dispatcher declares the stub.</summary>
    public string InterfaceName { get; }

    /// <summary>The interface method, for messages.</summary>
    public string Name { get; }

    public Codec? ResultCodec { get; }

    public static ObjectStub For(string assembly, int token, string interfaceName)
    {
        ObjectStub stub = Cache.GetOrAdd((assembly, token), static key => Create(key.Assembly, key.Token));
        return stub.InterfaceName == interfaceName
            ? stub
            : throw new NotShareableException(null, string.Empty,
                $"The child-process isolate called {stub.Name} on an object exported as {interfaceName}; a proxy calls only its own interface's methods: the child runs a different build than the host.");
    }

    /// <summary>Decodes the arguments (tokens left null: <see cref="Invoke"/> gives them the call's token).</summary>
    public object?[] Decode(ReadOnlyMemory<byte> payload, object[]? attachments)
    {
        var arguments = new object?[_codecs.Length];
        Codec[] encoded = _encoded;
        if (encoded.Length > 0 && encoded.Length == _codecs.Length)
        {
            Payload.Decode(payload, encoded, arguments, attachments); // no token among the parameters: decoded in place
        }
        else if (encoded.Length > 0)
        {
            var decoded = new object?[encoded.Length];
            Payload.Decode(payload, encoded, decoded, attachments);
            int next = 0;
            for (int i = 0; i < arguments.Length; i++)
            {
                if (_codecs[i] is not null)
                {
                    arguments[i] = decoded[next++];
                }
            }
        }

        return arguments;
    }

    /// <summary>Makes the call through <paramref name="reference"/>, as the host's proxy would; every token parameter is <paramref name="cancellationToken"/>.</summary>
    public Task Invoke(ObjectReference reference, object?[] arguments, CancellationToken cancellationToken)
    {
        var call = new object?[arguments.Length + 2];
        call[0] = _function;
        for (int i = 0; i < arguments.Length; i++)
        {
            call[i + 1] = _codecs[i] is null ? cancellationToken : arguments[i];
        }

        call[^1] = cancellationToken;
        return (Task)_call.Invoke(reference, call.AsSpan())!;
    }

    public object? ResultOf(Task completed) => _resultGetter!.Invoke(completed); // MethodInvoker does not wrap exceptions

    private static ObjectStub Create(string assemblyName, int token)
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(assemblyName));
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new NotShareableException(null, string.Empty, $"The host cannot load '{assemblyName}', whose proxy a child-process isolate called ({ex.Message}).");
        }

        MethodInfo stub = (assembly.ManifestModule.ResolveMethod(token) as MethodInfo)
            ?? throw new NotShareableException(null, string.Empty, $"Metadata token 0x{token:X8} of '{assemblyName}' is not a method in the host: the child runs a different build of that assembly.");
        string? interfaceName = InterfaceOf(stub);
        ParameterInfo[] parameters = stub.GetParameters();
        Type? resultType = Calls.TaskResult.TypeInside(stub.ReturnType);
        if (interfaceName is null || !stub.IsStatic || parameters.Length is 0 or > 4 || parameters[0].ParameterType != typeof(long)
            || (stub.ReturnType != typeof(Task) && stub.ReturnType != typeof(Task<>).MakeGenericType(resultType ?? typeof(object))))
        {
            throw new NotShareableException(null, string.Empty,
                $"{stub.DeclaringType}.{stub.Name} is not a dispatcher stub written by the Isolates source generator; a child-process isolate calls the host's objects only through their generated proxies.");
        }

        Type[] arguments = [.. parameters.Skip(1).Select(p => p.ParameterType)];
        Delegate function = stub.CreateDelegate(Expression.GetFuncType([typeof(long), .. arguments, stub.ReturnType]));
        string callName = resultType is null ? nameof(ObjectReference.CallVoidAsync) : nameof(ObjectReference.CallAsync);
        MethodInfo call = typeof(ObjectReference).GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Single(m => m.Name == callName && m.GetParameters().Length == arguments.Length + 2);
        Type[] typeArguments = resultType is null ? arguments : [.. arguments, resultType];
        if (typeArguments.Length > 0)
        {
            call = call.MakeGenericMethod(typeArguments);
        }

        Codec?[] codecs = [.. arguments.Select(t => t == typeof(CancellationToken) ? null : CodecFactory.Get(t))];
        return new ObjectStub(interfaceName, stub.Name, function, MethodInvoker.Create(call), codecs,
            resultType is null ? null : CodecFactory.Get(resultType),
            resultType is null ? null : typeof(Task<>).MakeGenericType(resultType).GetProperty(nameof(Task<int>.Result))!.GetMethod);
    }

    /// <summary>The interface a generated dispatcher serves (its proxy is registered beside it), or null for any other type.</summary>
    private static string? InterfaceOf(MethodInfo stub)
    {
        const string Proxy = "_IsolateProxy";
        const string Dispatcher = "_IsolateDispatcher";
        if (stub.DeclaringType is not { FullName: { } dispatcher } || !dispatcher.EndsWith(Dispatcher, StringComparison.Ordinal))
        {
            return null;
        }

        foreach (IsolateProxyAttribute registration in stub.Module.Assembly.GetCustomAttributes<IsolateProxyAttribute>())
        {
            if (registration.ProxyType.FullName is { } proxy && proxy.EndsWith(Proxy, StringComparison.Ordinal)
                && string.Equals(proxy[..^Proxy.Length] + Dispatcher, dispatcher, StringComparison.Ordinal))
            {
                return registration.InterfaceType.FullName;
            }
        }

        return null;
    }
}
