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
/// <remarks>
/// Split in two so a service that takes its time cannot pin a closed caller: the <see cref="Runner"/> (what the service's
/// pending task keeps alive) holds only the host's side; the caller's side (its task, of the caller's result type, and
/// its plan, with the caller's stub) is a <see cref="ICallerSide"/> the runner lets go of as soon as the caller's task is
/// done: the caller's token fired, or the calling isolate closed (its task then fails with IsolateClosedException).
/// </remarks>
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

        Isolate? caller = Isolate.Current;
        Runner runner;
        Caller<TResult> call;
        try
        {
            CallPlan plan = CallPlan.Get(stub, shape);
            call = new Caller<TResult>(plan);
            runner = Runner.Prepare(service, plan, HostTarget.For(service, stub.Method), arguments, caller, cancellationToken, call);
        }
        catch (Exception ex)
        {
            return Task.FromException<TResult>(ex); // refused before anything ran: not shareable, or a mismatched assembly
        }

        if (call.Register(runner, caller, cancellationToken))
        {
            ThreadPool.UnsafeQueueUserWorkItem(runner, preferLocal: false);
        }

        return call.Task;
    }

    /// <summary>The caller's end of a host call: completes the caller's task.</summary>
    private interface ICallerSide
    {
        /// <summary>The service's result, encoded by the host (null for a call with no result).</summary>
        void Succeed(byte[]? result, object[]? attachments);

        void Fail(Exception exception);

        void Cancel(CancellationToken token);
    }

    /// <summary>The caller's side: its task and plan, both of the caller's types.</summary>
    private sealed class Caller<TResult>(CallPlan plan) : ICallerSide
    {
        private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Runner? _runner;
        private CancellationTokenRegistration _cancelled;
        private CancellationTokenRegistration _closed;

        public Task<TResult> Task => _completion.Task;

        /// <summary>The caller's token and the calling isolate's closing end the caller's task at once; false when one already has.</summary>
        public bool Register(Runner runner, Isolate? caller, CancellationToken cancellationToken)
        {
            _runner = runner;
            if (cancellationToken.CanBeCanceled)
            {
                _cancelled = cancellationToken.UnsafeRegister(static (state, token) =>
                {
                    var self = (Caller<TResult>)state!;
                    if (self._completion.TrySetCanceled(token))
                    {
                        self.Done();
                    }
                }, this);
            }

            if (caller is not null)
            {
                _closed = caller.ClosingToken.UnsafeRegister(static (state, _) =>
                {
                    var (self, isolate) = ((Caller<TResult>, Isolate))state!;
                    if (self._completion.TrySetException(new IsolateClosedException(isolate.Id, isolate.Name,
                        $"Isolate '{isolate.Name}' ({isolate.Id}) closed while its call of a host service was running; the service's work goes on in the host, its result is dropped.")))
                    {
                        self.Done();
                    }
                }, (this, caller));
            }

            return !_completion.Task.IsCompleted;
        }

        public void Succeed(byte[]? result, object[]? attachments)
        {
            try
            {
                if (result is null ? _completion.TrySetResult(default!) : _completion.TrySetResult((TResult)Payload.Decode(result, plan.WireResultCodec!, attachments)!))
                {
                    Done();
                }
            }
            catch (Exception ex)
            {
                Fail(ExceptionTransfer.ToCaller(ex, 0, HostName));
            }
        }

        public void Fail(Exception exception)
        {
            if (_completion.TrySetException(exception))
            {
                Done();
            }
        }

        public void Cancel(CancellationToken token)
        {
            if (_completion.TrySetCanceled(token))
            {
                Done();
            }
        }

        /// <summary>The caller's task is complete: the runner lets go of this side, and the registrations of it.</summary>
        private void Done()
        {
            Volatile.Read(ref _runner)?.Detach();
            _cancelled.Unregister();
            _closed.Unregister();
        }
    }

    /// <summary>The host's side: runs the service with the host's stub and types; references the caller only through <see cref="_caller"/>.</summary>
    private sealed class Runner : IThreadPoolWorkItem
    {
        private readonly ObjectReference _service;
        private readonly HostTarget _target;
        private readonly CancellationToken _cancellationToken;
        private ICallerSide? _caller;
        private byte[]? _payload;
        private object[]? _attachments;
        private CancellationToken[] _tokens = [];
        private CancellationTokenSource? _linked;

        private Runner(ObjectReference service, HostTarget target, CancellationToken cancellationToken, ICallerSide caller)
        {
            _service = service;
            _target = target;
            _cancellationToken = cancellationToken;
            _caller = caller;
        }

        /// <summary>Encodes the arguments on the caller's thread, so a non-shareable value fails there.</summary>
        public static Runner Prepare(ObjectReference service, CallPlan plan, HostTarget target, object?[] arguments, Isolate? caller, CancellationToken cancellationToken, ICallerSide side)
        {
            var runner = new Runner(service, target, cancellationToken, side);
            var tokens = new List<CancellationToken>();
            runner._payload = StubArguments.Encode(plan, arguments, tokens, out runner._attachments);
            if (plan.HasTokenParameter || cancellationToken.CanBeCanceled)
            {
                if (cancellationToken.CanBeCanceled)
                {
                    tokens.Add(cancellationToken);
                }

                if (caller is not null)
                {
                    tokens.Add(caller.ClosingToken); // the isolate that asked is gone: nobody waits for the answer
                }

                runner._tokens = [.. tokens];
            }

            return runner;
        }

        /// <summary>The caller's task is done (cancelled, or its isolate closed): nothing is delivered, and nothing of the caller kept.</summary>
        public void Detach() => Volatile.Write(ref _caller, null);

        public void Execute() => _ = RunAsync();

        private async Task RunAsync()
        {
            try
            {
                if (Volatile.Read(ref _caller) is null)
                {
                    return; // cancelled before it ran
                }

                _linked = _tokens.Length > 0 ? CancellationTokenSource.CreateLinkedTokenSource(_tokens) : null;
                object?[] arguments = Decode();
                object? returned;
                try
                {
                    returned = IsolateObjects.WithHostTarget(_service.HostService!, () => _target.Invoker.Invoke(null, arguments.AsSpan()));
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

                if (_target.ResultGetter is null)
                {
                    Interlocked.Exchange(ref _caller, null)?.Succeed(null, null);
                    return;
                }

                object? result = _target.ResultGetter.Invoke(task, BindingFlags.DoNotWrapExceptions, null, null, null);
                byte[] bytes = Payload.Encode([_target.ResultCodec!], [result], out object[]? attachments);
                Interlocked.Exchange(ref _caller, null)?.Succeed(bytes, attachments);
            }
            catch (Exception ex)
            {
                // The runtime's own plumbing (decoding arguments, encoding the result): the same exception type.
                Interlocked.Exchange(ref _caller, null)?.Fail(ExceptionTransfer.ToCaller(ex, 0, HostName));
            }
            finally
            {
                _linked?.Dispose();
            }
        }

        private object?[] Decode()
        {
            Codec?[] codecs = _target.ArgumentCodecs;
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
            if (exception is OperationCanceledException && (_linked?.IsCancellationRequested == true || _cancellationToken.IsCancellationRequested))
            {
                Interlocked.Exchange(ref _caller, null)?.Cancel(_cancellationToken.IsCancellationRequested ? _cancellationToken : CancellationToken.None);
                return;
            }

            Interlocked.Exchange(ref _caller, null)?.Fail(ExceptionTransfer.ToRemote(exception, 0, HostName));
        }
    }
}
