using Isolates.CompilerServices;
using Isolates.Proxies;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Proxies as values: the bytes hold only the index of the object's <see cref="ObjectReference"/>, which travels beside
/// them by reference (an attachment, as channel cores do), and the receiver wraps it in its own generated proxy of its
/// own copy of the interface. Every proxy of one object in this process shares that reference.
/// </summary>
internal sealed class ProxyCodec : Codec
{
    private readonly ProxyFactory _factory;

    private ProxyCodec(Type type, ProxyFactory factory)
        : base(type)
    {
        _factory = factory;
    }

    public static ProxyCodec? TryCreate(Type type)
    {
        if (!ProxyFactory.IsIsolateInterface(type))
        {
            return null;
        }

        return ProxyFactory.TryFor(type, out string? reason) is { } factory
            ? new ProxyCodec(type, factory)
            : throw new NotShareableException(type, string.Empty, reason!);
    }

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        if (value is not IIsolateProxy proxy)
        {
            throw new NotShareableException(value.GetType(), string.Empty,
                $"{value.GetType()} implements {Type} but is an ordinary object, not a proxy: an [IsolateInterface] value crosses as a reference to an object that lives in one isolate. "
                + $"Create the object inside an isolate with Isolate.CreateObjectAsync<{Type.Name}, {value.GetType().Name}>() (or add it to IsolateOptions.HostServices) and pass the proxy you get.");
        }

        writer.Write(Payload.Attach(proxy.Reference));
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        if (Payload.Attached(reader.ReadInt32()) is not ObjectReference reference)
        {
            throw new IsolateSerializationException($"A {Type} proxy refers to an attachment that is not an object reference.");
        }

        return _factory.Create(reference);
    }
}
