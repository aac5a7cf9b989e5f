using System.Reflection;
using Isolates.Calls;
using Isolates.CompilerServices;
using Isolates.Errors;
using Isolates.Wire;

namespace Isolates.Proxies;

/// <summary>
/// The host's side of a generated stub, for a host service: the host's copy of the stub and the codecs of the host's
/// types. Found by the stub's metadata token in the host's copy of the interface's assembly (the stub is generated next
/// to the interface), cached on the service's <see cref="ObjectReference"/>, so it never references an isolate's types.
/// </summary>
internal sealed class HostTarget
{
    private HostTarget(MethodInfo method, MethodInvoker invoker, Codec?[] argumentCodecs, Codec? resultCodec, MethodInfo? resultGetter)
    {
        Method = method;
        Invoker = invoker;
        ArgumentCodecs = argumentCodecs;
        ResultCodec = resultCodec;
        ResultGetter = resultGetter;
    }

    public MethodInfo Method { get; }

    public MethodInvoker Invoker { get; }

    /// <summary>Per parameter of the stub: the host-side codec; null for the object id (the first) and for tokens.</summary>
    public Codec?[] ArgumentCodecs { get; }

    public Codec? ResultCodec { get; }

    /// <summary>The getter of <c>Task&lt;T&gt;.Result</c> for the host's T (the stub's task may be a derived type).</summary>
    public MethodInfo? ResultGetter { get; }

    public static HostTarget For(ObjectReference service, MethodInfo stub) =>
        service.HostTargets!.GetOrAdd(stub.MetadataToken, static (_, state) => Create(state.service, state.stub), (service, stub));

    private static HostTarget Create(ObjectReference service, MethodInfo stub)
    {
        Type hostInterface = service.HostInterface!;
        MethodInfo method = hostInterface.Assembly == stub.Module.Assembly
            ? stub
            : hostInterface.Module.ResolveMethod(stub.MetadataToken) as MethodInfo ?? throw Mismatch(hostInterface, stub);
        if (method.Name != stub.Name || method.DeclaringType?.FullName != stub.DeclaringType?.FullName)
        {
            throw Mismatch(hostInterface, stub);
        }

        ParameterInfo[] parameters = method.GetParameters();
        var codecs = new Codec?[parameters.Length];
        for (int i = 1; i < parameters.Length; i++)
        {
            if (parameters[i].ParameterType != typeof(CancellationToken))
            {
                codecs[i] = CodecFactory.Get(parameters[i].ParameterType);
            }
        }

        Type? resultType = TaskResult.TypeInside(method.ReturnType);
        MethodInfo? getter = resultType is null ? null : typeof(Task<>).MakeGenericType(resultType).GetProperty(nameof(Task<int>.Result))!.GetMethod;
        return new HostTarget(method, MethodInvoker.Create(method), codecs, resultType is null ? null : CodecFactory.Get(resultType), getter);
    }

    private static InvalidOperationException Mismatch(Type hostInterface, MethodInfo stub) => new(
        $"The host's copy of {hostInterface.Assembly.GetName().Name} does not match the one the isolate loaded ({stub.DeclaringType}.{stub.Name} was not found at the same place); "
        + "the host and its isolates must load the same build of the assembly that declares the service's interface.");
}

/// <summary>
/// A call of a host service from anywhere (usually isolate code): the arguments are encoded by the caller, the stub runs
/// on the host's thread pool (no execution context flows in, so the service does not see the calling isolate as
/// <see cref="Isolate.Current"/>), and the result is encoded there and rebuilt as the caller's type. Calls may run
/// concurrently: a host service must be thread-safe.
/// </summary>
internal static class HostCall
{
    /// <summary>The name host services use in <see cref="IsolateExecutionException"/>s (they run in no isolate).</summary>
    public const string HostName = "host";

    public static Task<TResult> Run<TResult>(ObjectReference service, Delegate stub, ResultShape shape, object?[] arguments, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        var call = new Item<TResult>(service, cancellationToken);
        try
        {
            CallPlan plan = CallPlan.Get(stub, shape);
            call.Prepare(plan, HostTarget.For(service, stub.Method), arguments);
        }
        catch (Exception ex)
        {
            return Task.FromException<TResult>(ex); // refused before anything ran: not shareable, or a mismatched assembly
        }

        if (call.RegisterCancellation())
        {
            ThreadPool.UnsafeQueueUserWorkItem(call, preferLocal: false);
        }

        return call.Task;
    }

    private sealed class Item<TResult>(ObjectReference service, CancellationToken cancellationToken) : IThreadPoolWorkItem
    {
        private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CallPlan? _plan;
        private HostTarget? _target;
        private byte[]? _payload;
        private object[]? _attachments;
        private CancellationToken[] _tokens = [];
        private CancellationTokenSource? _linked;
        private CancellationTokenRegistration _registration;

        public Task<TResult> Task => _completion.Task;

        /// <summary>Encodes the arguments on the caller's thread, so a non-shareable value fails there.</summary>
        public void Prepare(CallPlan plan, HostTarget target, object?[] arguments)
        {
            _plan = plan;
            _target = target;
            var codecs = new List<Codec>(arguments.Length);
            var values = new List<object?>(arguments.Length);
            var tokens = new List<CancellationToken>();
            for (int i = 0; i < arguments.Length; i++)
            {
                if (plan.TokenParameters[i + 1])
                {
                    if (arguments[i] is CancellationToken { CanBeCanceled: true } token)
                    {
                        tokens.Add(token);
                    }
                }
                else
                {
                    codecs.Add(plan.WireArgumentCodecs[i + 1]!);
                    values.Add(arguments[i]);
                }
            }

            _payload = Payload.Encode(codecs.ToArray(), values.ToArray(), out _attachments);
            if (plan.HasTokenParameter || cancellationToken.CanBeCanceled)
            {
                if (cancellationToken.CanBeCanceled)
                {
                    tokens.Add(cancellationToken);
                }

                if (Isolate.Current is { } caller)
                {
                    tokens.Add(caller.ClosingToken); // the isolate that asked is gone: nobody waits for the answer
                }

                _tokens = [.. tokens];
            }
        }

        /// <summary>The caller's token cancels the caller's task at once (as for CallAsync); false when it already has.</summary>
        public bool RegisterCancellation()
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (state, token) => ((Item<TResult>)state!)._completion.TrySetCanceled(token), this);
            }

            return !_completion.Task.IsCompleted;
        }

        public void Execute() => _ = RunAsync();

        private async Task RunAsync()
        {
            try
            {
                if (_completion.Task.IsCompleted)
                {
                    return; // cancelled before it ran
                }

                _linked = _tokens.Length > 0 ? CancellationTokenSource.CreateLinkedTokenSource(_tokens) : null;
                object?[] arguments = Decode();
                object? returned;
                try
                {
                    returned = IsolateObjects.WithHostTarget(service.HostService!, () => _target!.Invoker.Invoke(null, arguments.AsSpan()));
                }
                catch (Exception ex)
                {
                    FailFromService(ex);
                    return;
                }

                Task task;
                try
                {
                    task = TargetPlan.AsTask(returned);
                    await task.ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    FailFromService(ex);
                    return;
                }

                if (_target!.ResultGetter is null)
                {
                    _completion.TrySetResult(default!);
                    return;
                }

                object? result = _target.ResultGetter.Invoke(task, BindingFlags.DoNotWrapExceptions, null, null, null);
                byte[] bytes = Payload.Encode([_target.ResultCodec!], [result], out object[]? attachments);
                _completion.TrySetResult((TResult)Payload.Decode(bytes, _plan!.WireResultCodec!, attachments)!);
            }
            catch (Exception ex)
            {
                // The runtime's own plumbing (decoding arguments, encoding the result): the same exception type.
                _completion.TrySetException(ExceptionTransfer.ToCaller(ex, 0, HostName));
            }
            finally
            {
                _registration.Dispose();
                _linked?.Dispose();
            }
        }

        private object?[] Decode()
        {
            Codec?[] codecs = _target!.ArgumentCodecs;
            var arguments = new object?[codecs.Length];
            var encoded = new List<Codec>(codecs.Length);
            for (int i = 1; i < codecs.Length; i++)
            {
                if (codecs[i] is { } codec)
                {
                    encoded.Add(codec);
                }
            }

            var decoded = new object?[encoded.Count];
            Payload.Decode(_payload!, encoded.ToArray(), decoded, _attachments);
            int next = 0;
            arguments[0] = 0L; // the object id: unused, the stub finds the service through IsolateObjects
            for (int i = 1; i < codecs.Length; i++)
            {
                arguments[i] = codecs[i] is null ? _linked?.Token ?? CancellationToken.None : decoded[next++];
            }

            return arguments;
        }

        private void FailFromService(Exception exception)
        {
            if (exception is OperationCanceledException && (_linked?.IsCancellationRequested == true || cancellationToken.IsCancellationRequested))
            {
                _completion.TrySetCanceled(cancellationToken.IsCancellationRequested ? cancellationToken : CancellationToken.None);
                return;
            }

            _completion.TrySetException(ExceptionTransfer.ToRemote(exception, 0, HostName));
        }
    }
}
