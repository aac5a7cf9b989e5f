using Microsoft.CodeAnalysis;

namespace Isolates.Analyzers;

/// <summary>
/// What to do about a type that is not shareable, in the order the runtime explains it (CodecFactory.Explain): what a
/// type is for comes before its shape, so a stream is called a resource (whose data should cross) and not an abstract
/// type to be replaced by a concrete one (MemoryStream is refused as well). Every type named here is shareable.
/// </summary>
internal static class Advice
{
    /// <param name="type">The type that is not shareable.</param>
    /// <param name="isMember">
    /// Whether it is a member's type, which [IgnoreMember] can leave out; a parameter or result (ISO011) cannot be.
    /// </param>
    public static string For(ITypeSymbol type, bool isMember = true)
    {
        string ignore = isMember ? " or mark the member [IgnoreMember]" : "";
        if (type.TypeKind == TypeKind.Delegate)
        {
            return "a delegate carries code and captured state; send data and call a static method in the isolate";
        }

        if (IsOrDerivesFrom(type, "System.Threading.Tasks.Task") || type.OriginalDefinition.ToDisplayString() is "System.Threading.Tasks.ValueTask" or "System.Threading.Tasks.ValueTask<TResult>")
        {
            return "a task is not a value; await it and send its result";
        }

        if (type.ToDisplayString() == "System.Threading.CancellationToken")
        {
            return "a CancellationToken crosses only as a parameter of a function or an [IsolateInterface] method (one per call), where the isolate gets its own token";
        }

        if (Implements(type, "System.IDisposable") || Implements(type, "System.IAsyncDisposable") || IsOrDerivesFrom(type, "System.MarshalByRefObject"))
        {
            return "it holds a resource (a stream, handle, connection or lock) that belongs to one isolate; send the data instead "
                + "(byte[], ReadOnlyMemory<byte> or a SharedBuffer for bytes)" + ignore;
        }

        if (type is IArrayTypeSymbol { IsSZArray: false })
        {
            return "only single-dimensional arrays are shareable; use a jagged array (T[][]) or a flat T[]";
        }

        if (type.TypeKind is TypeKind.Pointer or TypeKind.FunctionPointer || type.IsRefLikeType)
        {
            return "pointers and ref structs cannot leave the stack they live on";
        }

        if (type.SpecialType == SpecialType.System_Object || type.TypeKind is TypeKind.Interface or TypeKind.Dynamic || type.IsAbstract)
        {
            // Only the project's own interfaces can be marked; a framework one would get a misleading hint.
            return type.TypeKind == TypeKind.Interface && InSource(type)
                ? "only a concrete type can be rebuilt on the other side; declare a concrete [Shareable] or [MessagePackObject] type, or a listed collection, or mark the interface [IsolateInterface] to pass a proxy"
                : "only a concrete type can be rebuilt on the other side; declare a concrete [Shareable] or [MessagePackObject] type, or a listed collection";
        }

        if (type.TypeKind is TypeKind.TypeParameter)
        {
            return "nothing says what the type parameter will be; use a concrete shareable type";
        }

        return isMember
            ? "mark it [Shareable] or [MessagePackObject], use a shareable type from docs/shareable.md, or mark the member [IgnoreMember]"
            : "mark it [Shareable] or [MessagePackObject], or use a shareable type from docs/shareable.md";
    }

    private static bool InSource(ITypeSymbol type)
    {
        foreach (Location location in type.Locations)
        {
            if (location.IsInSource)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Implements(ITypeSymbol type, string name)
    {
        if (type.ToDisplayString() == name)
        {
            return true;
        }

        foreach (INamedTypeSymbol implemented in type.AllInterfaces)
        {
            if (implemented.ToDisplayString() == name)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsOrDerivesFrom(ITypeSymbol type, string name)
    {
        for (ITypeSymbol? current = type; current is not null; current = current.BaseType)
        {
            if (current.OriginalDefinition.ToDisplayString() == name)
            {
                return true;
            }
        }

        return false;
    }
}
