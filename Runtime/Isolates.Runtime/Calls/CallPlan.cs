using System.Reflection;
using System.Runtime.CompilerServices;
using Isolates.Loader;
using Isolates.Wire;

namespace Isolates.Calls;

/// <summary>
/// The caller's side of calling one function: which method it is, how each argument and the result cross, and
/// whether the direct path applies. Built once per (method, delegate type) and cached in the caller's context;
/// building it is also where a closure or a non-shareable type is refused, before anything is sent.
/// </summary>
internal sealed class CallPlan
{
    private static long s_nextId;

    private CallPlan(MethodInfo method, Type delegateType, ResultShape shape)
    {
        Id = Interlocked.Increment(ref s_nextId);
        Method = method;
        DelegateType = delegateType;
        Shape = shape;
    }

    /// <summary>A process-wide id, so isolates can cache their side of the plan without referencing it.</summary>
    public long Id { get; }

    public MethodInfo Method { get; }

    public Type DelegateType { get; }

    public ResultShape Shape { get; }

    /// <summary>Whether the delegate's target is the compiler's singleton for lambdas that capture nothing.</summary>
    public bool UsesLambdaSingleton { get; private set; }

    /// <summary>Per parameter: the caller-side codec, or null when the value passes as it is (or is a token).</summary>
    public Codec?[] ArgumentCodecs { get; private set; } = [];

    /// <summary>Per parameter: whether it is a <see cref="CancellationToken"/> the isolate gets its own linked copy of.</summary>
    public bool[] TokenParameters { get; private set; } = [];

    public bool HasTokenParameter { get; private set; }

    /// <summary>How many arguments travel in the payload.</summary>
    public int EncodedArgumentCount { get; private set; }

    /// <summary>The type the function returns (inside the task for async shapes); null when it returns nothing.</summary>
    public Type? ResultType { get; private set; }

    /// <summary>The caller-side codec that rebuilds the result; null when it passes as it is or there is none.</summary>
    public Codec? ResultCodec { get; private set; }

    /// <summary>Per parameter: the caller-side codec of every argument (null only for tokens), for a child-process isolate, where nothing passes as it is.</summary>
    public Codec?[] WireArgumentCodecs { get; private set; } = [];

    /// <summary>The caller-side codec of the result for a child-process isolate; null when the function returns nothing.</summary>
    public Codec? WireResultCodec { get; private set; }

    /// <summary>Whether every argument and the result pass as they are: then the isolate's method is called through a typed delegate.</summary>
    public bool Direct { get; private set; }

    public string DisplayName => field ??= $"{Method.DeclaringType?.FullName}.{Method.Name}";

    /// <summary>The plan for <paramref name="function"/>, validated; throws <see cref="NotShareableException"/>.</summary>
    public static CallPlan Get(Delegate function, ResultShape shape)
    {
        MethodInfo method = function.Method;
        ContextCache cache = CacheFor(method, function.GetType());
        (MethodInfo, Type, ResultShape) key = (method, function.GetType(), shape);
        if (cache.CallPlans.TryGetValue(key, out CallPlan? plan))
        {
            if (function.Target is not null)
            {
                CheckTarget(function, method); // the same method may be bound to a closure in another delegate
            }

            return plan;
        }

        plan = Create(function, method, shape);
        return cache.CallPlans.GetOrAdd(key, plan);
    }

    /// <summary>
    /// The cache of the collectible context (if any) that the plan references: the method's declaring type, its
    /// generic arguments (a shared generic method instantiated over an isolate's type) or the delegate type.
    /// </summary>
    private static ContextCache CacheFor(MethodInfo method, Type delegateType)
    {
        if (method.DeclaringType is { IsCollectible: true } declaring)
        {
            return ContextCache.For(declaring);
        }

        if (method.IsGenericMethod)
        {
            foreach (Type argument in method.GetGenericArguments())
            {
                if (argument.IsCollectible)
                {
                    return ContextCache.For(argument);
                }
            }
        }

        return ContextCache.For(delegateType);
    }

    private static CallPlan Create(Delegate function, MethodInfo method, ResultShape shape)
    {
        if (!function.HasSingleTarget)
        {
            throw new NotShareableException(function.GetType(), string.Empty,
                "A multicast delegate (several methods combined with +=) cannot be called in an isolate; call each method separately.");
        }

        if (method is not { DeclaringType: not null } || method.Module.Assembly.IsDynamic || method.MetadataToken == 0 || method.GetType().Name.Contains("Dynamic", StringComparison.Ordinal))
        {
            throw new NotShareableException(null, string.Empty,
                $"'{method.Name}' is a dynamic method (emitted or compiled from an expression); an isolate can only call methods that exist in an assembly it loads.");
        }

        var plan = new CallPlan(method, function.GetType(), shape)
        {
            UsesLambdaSingleton = CheckTarget(function, method),
        };

        ParameterInfo[] parameters = method.GetParameters();
        plan.ArgumentCodecs = new Codec?[parameters.Length];
        plan.TokenParameters = new bool[parameters.Length];
        plan.WireArgumentCodecs = new Codec?[parameters.Length];
        bool allAsIs = true;
        for (int i = 0; i < parameters.Length; i++)
        {
            Type parameterType = parameters[i].ParameterType;
            if (parameterType == typeof(CancellationToken))
            {
                plan.TokenParameters[i] = true;
                plan.HasTokenParameter = true;
                allAsIs = false;
                continue;
            }

            if (parameterType.IsByRef)
            {
                throw new NotShareableException(parameterType, parameters[i].Name ?? string.Empty,
                    $"Parameter '{parameters[i].Name}' of {plan.DisplayName} is passed by reference (ref/out/in); isolates share no memory, so pass values and return results instead.");
            }

            Codec codec = GetCodec(parameterType, $"parameter '{parameters[i].Name}' of {plan.DisplayName}");
            plan.WireArgumentCodecs[i] = codec;
            if (!codec.PassAsIs)
            {
                plan.ArgumentCodecs[i] = codec;
                plan.EncodedArgumentCount++;
                allAsIs = false;
            }
        }

        plan.ResultType = ResultTypeOf(method.ReturnType, shape, plan.DisplayName);
        if (plan.ResultType is not null)
        {
            Codec codec = GetCodec(plan.ResultType, $"the result of {plan.DisplayName}");
            plan.ResultCodec = codec.PassAsIs ? null : codec;
            plan.WireResultCodec = codec;
            allAsIs &= codec.PassAsIs;
        }

        plan.Direct = allAsIs;
        return plan;
    }

    private static Codec GetCodec(Type type, string where)
    {
        try
        {
            return CodecFactory.Get(type);
        }
        catch (NotShareableException ex)
        {
            throw new NotShareableException(ex.Type, ex.MemberPath, $"{ex.Message} (in {where})");
        }
    }

    /// <summary>
    /// The captured variables the lambda reads, as the user wrote them. The closure object holds every variable captured in
    /// its scope (other lambdas', the enclosing method's <c>this</c>, compiler caches like <c>&lt;&gt;9__10</c>), so its
    /// fields alone named far more than this lambda uses; the lambda's IL says which of them it loads. Error path only.
    /// </summary>
    private static IEnumerable<string> CapturedNames(MethodInfo lambda, Type closure)
    {
        var read = new List<string>();
        try
        {
            byte[]? il = lambda.GetMethodBody()?.GetILAsByteArray();
            for (int i = 0; il is not null && i + 4 < il.Length; i++)
            {
                // ldfld (0x7B) / ldflda (0x7C) followed by a field token (table 0x04). A byte scan may see an operand as an
                // opcode; resolving only tokens of fields declared by the closure keeps false hits out.
                if (il[i] is 0x7B or 0x7C && il[i + 4] == 0x04
                    && lambda.Module.ResolveField(BitConverter.ToInt32(il, i + 1)) is { } field && field.DeclaringType == closure)
                {
                    string name = field.Name.Contains("__this", StringComparison.Ordinal) ? "this"
                        : field.Name.StartsWith("CS$<>", StringComparison.Ordinal) || field.Name.StartsWith('<') ? "variables of an enclosing scope"
                        : field.Name;
                    if (!read.Contains(name))
                    {
                        read.Add(name);
                    }
                }
            }
        }
        catch (Exception)
        {
            read.Clear(); // metadata we could not read: fall back to the closure's fields
        }

        return read.Count > 0 ? read : closure.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(f => !f.Name.StartsWith('<') || f.Name.Contains("__this", StringComparison.Ordinal))
            .Select(f => f.Name.Contains("__this", StringComparison.Ordinal) ? "this" : f.Name);
    }

    /// <summary>Accepts a static method or a lambda that captures nothing; refuses closures and bound instances.</summary>
    private static bool CheckTarget(Delegate function, MethodInfo method)
    {
        object? target = function.Target;
        if (target is null)
        {
            return false;
        }

        Type targetType = target.GetType();
        if (method.IsStatic)
        {
            throw new NotShareableException(targetType, string.Empty,
                $"{method.DeclaringType?.Name}.{method.Name} is bound to a first argument of type {targetType} (an extension method used as a method group). Pass the static method and give the value as an argument.");
        }

        if (IsLambdaSingleton(targetType, target))
        {
            return true;
        }

        bool compilerGenerated = targetType.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false);
        if (compilerGenerated)
        {
            string captured = string.Join(", ", CapturedNames(method, targetType));
            throw new NotShareableException(targetType, string.Empty,
                $"The lambda passed as the function captures state ({captured}); an isolate shares nothing with its caller, so it cannot see those variables. Make the lambda static (capture nothing) and pass the values as arguments.");
        }

        throw new NotShareableException(targetType, string.Empty,
            $"{method.DeclaringType?.Name}.{method.Name} is an instance method bound to an object of type {targetType}; that object lives in the caller and cannot be used by an isolate. Pass a static method and give the data as arguments.");
    }

    private static bool IsLambdaSingleton(Type targetType, object target) =>
        targetType.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false) &&
        targetType.GetField("<>9", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic) is { } singleton &&
        ReferenceEquals(singleton.GetValue(null), target);

    private static Type? ResultTypeOf(Type returnType, ResultShape shape, string displayName)
    {
        switch (shape)
        {
            case ResultShape.Void:
            case ResultShape.Task:
            case ResultShape.ValueTask:
                return null;
            case ResultShape.Value:
                return returnType;
            case ResultShape.TaskOfT:
                for (Type? t = returnType; t is not null; t = t.BaseType)
                {
                    if (t.IsConstructedGenericType && t.GetGenericTypeDefinition() == typeof(Task<>))
                    {
                        return t.GenericTypeArguments[0];
                    }
                }

                break;
            case ResultShape.ValueTaskOfT:
                if (returnType.IsConstructedGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
                {
                    return returnType.GenericTypeArguments[0];
                }

                break;
        }

        throw new NotShareableException(returnType, string.Empty, $"{displayName} returns {returnType}, which does not match the call's expected result shape {shape}.");
    }
}
