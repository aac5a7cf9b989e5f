using System.Linq.Expressions;
using System.Reflection;

namespace Isolates.Wire;

/// <summary>
/// Adaptive speed-up: a type starts on reflection (no code compiled per isolate, the right trade for the first calls
/// of a fresh isolate) and, once it has crossed often enough to be hot, gets compiled getters and a compiled
/// constructor. The compiled code references the type, so it lives in the codec, which lives in the type's own
/// context cache and dies with it.
/// </summary>
internal sealed partial class ObjectCodec
{
    /// <summary>Uses (encodes plus decodes) after which the accessors are compiled.</summary>
    internal const int CompileThreshold = 256;

    private int _uses;
    private Func<object?[], object>? _compiledConstructor;

    private void CountUse()
    {
        if (_uses < CompileThreshold && ++_uses == CompileThreshold)
        {
            Compile();
        }
    }

    private void Compile()
    {
        try
        {
            foreach (Member member in _members)
            {
                member.CompiledGet = CompileGetter(member);
            }

            if (_constructor is not null)
            {
                ParameterExpression arguments = Expression.Parameter(typeof(object?[]), "arguments");
                ParameterInfo[] parameters = _constructor.GetParameters();
                var converted = new Expression[parameters.Length];
                for (int i = 0; i < parameters.Length; i++)
                {
                    converted[i] = Expression.Convert(Expression.ArrayIndex(arguments, Expression.Constant(i)), parameters[i].ParameterType);
                }

                Expression created = Expression.Convert(Expression.New(_constructor, converted), typeof(object));
                _compiledConstructor = Expression.Lambda<Func<object?[], object>>(created, arguments).Compile();
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or MemberAccessException)
        {
            // Some shapes cannot be compiled (e.g. by-ref-like members); reflection keeps working for them.
        }
    }

    private Func<object, object?> CompileGetter(Member member)
    {
        ParameterExpression instance = Expression.Parameter(typeof(object), "instance");
        Expression typed = Type.IsValueType ? Expression.Unbox(instance, Type) : Expression.Convert(instance, Type);
        Expression value = member.Field is { } field ? Expression.Field(typed, field) : Expression.Property(typed, member.Property!);
        return Expression.Lambda<Func<object, object?>>(Expression.Convert(value, typeof(object)), instance).Compile();
    }
}
