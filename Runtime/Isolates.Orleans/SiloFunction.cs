using System.Diagnostics;
using System.Reflection;
using Isolates.Calls;
using Isolates.Processes;
using Isolates.Wire;

namespace Isolates.Orleans;

/// <summary>
/// The silo's side of a mapped function: the method found by assembly identity and metadata token in the silo's
/// own copy of the application (as a child process finds it), bound to a delegate of the silo's types, and run over a
/// chunk by the silo's <see cref="IsolatePool"/>, so chunking over isolates, errors and metrics are the local pool's.
/// </summary>
internal abstract class SiloFunction
{
    /// <summary>Runs the chunk on the pool; results that encode to more than <paramref name="maxReplyBytes"/> fail the chunk clearly (Orleans would drop the connection instead).</summary>
    public abstract Task<ChunkReply> RunAsync(IsolatePool pool, string name, ChunkRequest request, long maxReplyBytes, CancellationToken cancellationToken);

    public static SiloFunction Resolve(ChunkRequest request)
    {
        Assembly assembly = Load(request.Assembly);
        if (assembly.ManifestModule.ResolveMethod(request.Token) is not MethodInfo method)
        {
            throw new NotShareableException(null, string.Empty, $"Metadata token 0x{request.Token:X8} of '{request.Assembly}' is not a method on this silo: the silo runs a different build of that assembly than the caller. Deploy the same build everywhere.");
        }

        if (request.GenericTokens.Length > 0)
        {
            Type[] arguments = [.. request.GenericAssemblies.Select((a, i) => Load(a).ManifestModule.ResolveType(request.GenericTokens[i]))];
            method = method.MakeGenericMethod(arguments);
        }

        var shape = (ResultShape)request.Shape;
        ParameterInfo[] parameters = method.GetParameters();
        Debug.Assert(parameters.Length == 1, "the caller checked that a mapped function takes one argument");
        Type item = parameters[0].ParameterType;
        Type result = shape == ResultShape.TaskOfT ? method.ReturnType.GetGenericArguments()[0] : method.ReturnType;
        return (SiloFunction)Activator.CreateInstance(typeof(SiloFunction<,>).MakeGenericType(item, result), method, shape)!;
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
                $"This silo cannot load assembly '{assemblyName}', which declares the mapped function: every silo must run the application's assemblies that declare mapped functions and their types ({ex.Message}).");
        }
    }
}

internal sealed class SiloFunction<T, TResult> : SiloFunction
{
    private readonly Delegate _function;
    private readonly ResultShape _shape;
    private readonly Codec _itemCodec = CodecFactory.Get(typeof(T));
    private readonly Codec _resultCodec = CodecFactory.Get(typeof(TResult));

    public SiloFunction(MethodInfo method, ResultShape shape)
    {
        _shape = shape;
        Type delegateType = shape == ResultShape.TaskOfT ? typeof(Func<T, Task<TResult>>) : typeof(Func<T, TResult>);
        if (method.IsStatic)
        {
            _function = method.CreateDelegate(delegateType);
        }
        else
        {
            // A lambda that captures nothing: an instance method of the compiler's singleton (the caller checked that).
            object instance = method.DeclaringType!.GetField("<>9", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)?.GetValue(null)
                ?? throw new NotShareableException(method.DeclaringType, string.Empty, $"{method.DeclaringType}.{method.Name} is an instance method; only static methods and lambdas that capture nothing can be mapped.");
            _function = method.CreateDelegate(delegateType, instance);
        }
    }

    public override async Task<ChunkReply> RunAsync(IsolatePool pool, string name, ChunkRequest request, long maxReplyBytes, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            var items = new T[request.Count];
            object?[] decoded = new object?[request.Count];
            Payload.Decode(request.Items, Codecs(_itemCodec, request.Count), decoded);
            for (int i = 0; i < items.Length; i++)
            {
                items[i] = (T)decoded[i]!;
            }

            IReadOnlyList<TResult> results = _shape == ResultShape.TaskOfT
                ? await pool.MapAsync(items, (Func<T, Task<TResult>>)_function, cancellationToken).ConfigureAwait(false)
                : await pool.MapAsync(items, (Func<T, TResult>)_function, cancellationToken).ConfigureAwait(false);
            object?[] boxed = new object?[results.Count];
            for (int i = 0; i < boxed.Length; i++)
            {
                boxed[i] = results[i];
            }

            byte[] bytes = Payload.Encode(Codecs(_resultCodec, boxed.Length), boxed);
            if (bytes.Length > maxReplyBytes)
            {
                // Sent anyway, Orleans would close the connection and the caller would wait for its response timeout.
                string advice = request.Count > 1
                    ? "Set ClusterIsolatePoolOptions.ChunkSize smaller, or raise"
                    : "Return smaller results (one result alone is too large), or raise";
                throw new IsolateSerializationException(
                    $"The results of items {request.FirstIndex} to {request.FirstIndex + request.Count - 1} encode to {bytes.Length:N0} bytes, more than the {maxReplyBytes:N0} bytes one Orleans message can carry back from the silo; the items ran but their results cannot travel. {advice} MessagingOptions.MaxMessageBodySize on the silos and clients.");
            }

            return new ChunkReply { Outcome = ChunkOutcome.Done, Results = bytes, ElapsedTicks = Stopwatch.GetElapsedTime(started).Ticks };
        }
        catch (IsolatePoolClosedException ex)
        {
            return new ChunkReply { Outcome = ChunkOutcome.Lost, Reason = ex.Message, ElapsedTicks = Stopwatch.GetElapsedTime(started).Ticks };
        }
        catch (ObjectDisposedException ex)
        {
            return new ChunkReply { Outcome = ChunkOutcome.NotRun, Reason = ex.Message };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // the caller cancelled: it is not waiting for an answer
        }
        catch (IsolateExecutionException ex)
        {
            return new ChunkReply
            {
                Outcome = ChunkOutcome.Failed,
                Error = RemoteError.Encode(ex, ex.IsolateId, ex.IsolateName),
                ItemIndex = ex.ItemIndex,
                IsolateId = ex.IsolateId,
                IsolateName = ex.IsolateName,
            };
        }
        catch (Exception ex)
        {
            return new ChunkReply { Outcome = ChunkOutcome.Failed, Error = RemoteError.Encode(ex, 0, name), IsolateName = name };
        }
    }

    private static Codec[] Codecs(Codec codec, int count)
    {
        var codecs = new Codec[count];
        Array.Fill(codecs, codec);
        return codecs;
    }
}
