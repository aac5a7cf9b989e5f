using System.Reflection;

namespace Isolates.Loader;

/// <summary>
/// Finds, in an isolate's context, the counterpart of a type or method from another context: the same metadata
/// token in the isolate's own copy of the assembly. Shared assemblies map to themselves.
/// </summary>
internal static class MemberMapper
{
    public static Assembly MapAssembly(Assembly source, IsolateLoadContext destination)
    {
        if (SharingPolicy.IsShared(source, destination.ExtraShared))
        {
            return source;
        }

        try
        {
            return destination.LoadFromAssemblyName(source.GetName());
        }
        catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new NotShareableException(
                null,
                string.Empty,
                $"The isolate cannot load its own copy of assembly '{source.GetName().Name}': {ex.Message} " +
                "Functions passed to an isolate must live in an assembly the isolate can load from a file or from a registered image.");
        }
    }

    public static Type MapType(Type source, IsolateLoadContext destination)
    {
        if (source.IsArray)
        {
            Type element = MapType(source.GetElementType()!, destination);
            return source.IsSZArray ? element.MakeArrayType() : element.MakeArrayType(source.GetArrayRank());
        }

        if (source.IsConstructedGenericType)
        {
            Type definition = MapType(source.GetGenericTypeDefinition(), destination);
            Type[] arguments = Array.ConvertAll(source.GenericTypeArguments, t => MapType(t, destination));
            return definition.MakeGenericType(arguments);
        }

        if (source.IsByRef || source.IsPointer || source.IsGenericParameter)
        {
            throw new NotShareableException(source, string.Empty, $"{source} cannot be mapped into an isolate: by-ref, pointer and open generic types are not shareable.");
        }

        Assembly assembly = MapAssembly(source.Assembly, destination);
        if (assembly == source.Assembly)
        {
            return source;
        }

        Module module = assembly.GetModule(source.Module.ScopeName) ?? assembly.ManifestModule;
        return module.ResolveType(source.MetadataToken);
    }

    public static MethodInfo MapMethod(MethodInfo source, IsolateLoadContext destination)
    {
        Type declaring = source.DeclaringType
            ?? throw new NotShareableException(null, string.Empty, $"'{source.Name}' is a global or dynamic method; only methods declared on a type can be called in an isolate.");
        Assembly assembly = MapAssembly(declaring.Assembly, destination);
        if (assembly == declaring.Assembly && !source.IsGenericMethod && MapType(declaring, destination) == declaring)
        {
            return source; // a shared method on a shared type: the same method everywhere
        }

        Module module = assembly.GetModule(source.Module.ScopeName) ?? assembly.ManifestModule;
        MethodInfo definition = source.IsGenericMethod ? source.GetGenericMethodDefinition() : source;
        var mapped = (MethodInfo)module.ResolveMethod(definition.MetadataToken)!;
        if (declaring.IsConstructedGenericType)
        {
            Type mappedDeclaring = MapType(declaring, destination);
            mapped = (MethodInfo)MethodBase.GetMethodFromHandle(mapped.MethodHandle, mappedDeclaring.TypeHandle)!;
        }

        if (source.IsGenericMethod)
        {
            Type[] arguments = Array.ConvertAll(source.GetGenericArguments(), t => MapType(t, destination));
            mapped = mapped.MakeGenericMethod(arguments);
        }

        return mapped;
    }
}
