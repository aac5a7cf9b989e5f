using System.Text;

namespace Isolates.Scripting;

/// <summary>Writes a runtime type as C# source (<c>global::System.Collections.Generic.List&lt;global::System.Int32&gt;</c>).</summary>
internal static class CSharpTypeName
{
    public static string Of(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.IsGenericParameter || type.IsByRef || type.IsPointer || type.ContainsGenericParameters)
        {
            throw new ArgumentException($"{type} cannot be the result type of an expression: use a closed, shareable type such as int, string or a [Shareable] record.", nameof(type));
        }

        var text = new StringBuilder();
        Append(text, type);
        return text.ToString();
    }

    private static void Append(StringBuilder text, Type type)
    {
        if (type.IsArray)
        {
            Append(text, type.GetElementType()!);
            text.Append('[').Append(',', type.GetArrayRank() - 1).Append(']');
            return;
        }

        Type[] arguments = type.IsConstructedGenericType ? type.GenericTypeArguments : [];
        AppendName(text, type, arguments, arguments.Length);
    }

    // Nested generic types spread their arguments over the declaring chain: Outer<A>.Inner<B> is Outer`1+Inner`1[A,B].
    private static void AppendName(StringBuilder text, Type type, Type[] arguments, int available)
    {
        Type definition = type.IsConstructedGenericType ? type.GetGenericTypeDefinition() : type;
        string name = definition.Name;
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        int own = tick < 0 ? 0 : int.Parse(name[(tick + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        if (tick >= 0)
        {
            name = name[..tick];
        }

        if (definition.DeclaringType is { } declaring)
        {
            AppendName(text, declaring, arguments, available - own);
            text.Append('.');
        }
        else
        {
            text.Append("global::");
            if (!string.IsNullOrEmpty(definition.Namespace))
            {
                text.Append(definition.Namespace).Append('.');
            }
        }

        text.Append(name);
        if (own > 0)
        {
            text.Append('<');
            for (int i = available - own; i < available; i++)
            {
                if (i > available - own)
                {
                    text.Append(", ");
                }

                Append(text, arguments[i]);
            }

            text.Append('>');
        }
    }
}
