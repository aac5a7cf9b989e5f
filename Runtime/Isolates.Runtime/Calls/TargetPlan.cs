using System.Reflection;
using Isolates.Loader;
using Isolates.Wire;

namespace Isolates.Calls;

/// <summary>
/// The isolate's side of a <see cref="CallPlan"/>: the isolate's own copy of the method, the codecs that rebuild
/// arguments as the isolate's types and encode its result, and a typed delegate when the direct path applies.
/// Built on the isolate's thread on first use and cached in the isolate's context, so it dies with the isolate.
/// </summary>
internal sealed class TargetPlan
{
    private readonly TaskResult _taskResult = new();

    private TargetPlan(MethodInfo method, object? target)
    {
        Method = method;
        Target = target;
    }

    public MethodInfo Method { get; }

    /// <summary>The isolate's lambda singleton, or null for a static method.</summary>
    public object? Target { get; }

    /// <summary>Per parameter: the isolate-side codec for encoded arguments, null for the others.</summary>
    public Codec?[] ArgumentCodecs { get; private set; } = [];

    /// <summary>The isolate-side codec that encodes the result, when it does not pass as it is.</summary>
    public Codec? ResultCodec { get; private set; }

    /// <summary>The isolate's method as the caller's delegate type, when the plan is direct.</summary>
    public Delegate? Direct { get; private set; }

    public MethodInvoker? Invoker { get; private set; }

    public static TargetPlan Create(CallPlan plan, IsolateLoadContext context)
    {
        MethodInfo method = MemberMapper.MapMethod(plan.Method, context);
        object? target = null;
        if (plan.UsesLambdaSingleton)
        {
            FieldInfo singleton = method.DeclaringType!.GetField("<>9", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)!;
            target = singleton.GetValue(null);
        }

        var targetPlan = new TargetPlan(method, target);
        if (plan.Direct)
        {
            targetPlan.Direct = method.CreateDelegate(plan.DelegateType, target);
            return targetPlan;
        }

        ParameterInfo[] parameters = method.GetParameters();
        targetPlan.ArgumentCodecs = new Codec?[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
        {
            if (plan.ArgumentCodecs[i] is not null)
            {
                targetPlan.ArgumentCodecs[i] = CodecFactory.Get(parameters[i].ParameterType);
            }
        }

        if (plan.ResultCodec is not null)
        {
            targetPlan.ResultCodec = CodecFactory.Get(plan.Shape switch
            {
                ResultShape.Value => method.ReturnType,
                _ => ResultTypeInside(method.ReturnType),
            });
        }

        targetPlan.Invoker = MethodInvoker.Create(method);
        return targetPlan;
    }

    /// <summary>Turns what an async function returned into a <see cref="Task"/> to wait for.</summary>
    public static Task AsTask(object? returned)
    {
        switch (returned)
        {
            case Task task:
                return task;
            case ValueTask valueTask:
                return valueTask.AsTask();
            case null:
                throw new InvalidOperationException("The function returned a null task.");
            default:
                // ValueTask<T> of an isolate type: only reflection can reach it.
                MethodInfo asTask = returned.GetType().GetMethod(nameof(ValueTask<int>.AsTask))!;
                return (Task)asTask.Invoke(returned, BindingFlags.DoNotWrapExceptions, null, null, null)!;
        }
    }

    /// <summary>Reads the result of a completed <c>Task&lt;T&gt;</c> whose T may be one of the isolate's types.</summary>
    public object? ResultOf(Task completed) => _taskResult.Of(completed);

    private static Type ResultTypeInside(Type returnType) =>
        TaskResult.TypeInside(returnType) ?? throw new InvalidOperationException($"{returnType} is not a Task<T> or ValueTask<T>.");
}
