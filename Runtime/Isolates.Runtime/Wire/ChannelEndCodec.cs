using System.Reflection;
using System.Threading.Channels;
using Isolates.Channels;
using MessagePack;

namespace Isolates.Wire;

/// <summary>
/// Channel ends as values: the bytes hold only a reference to the channel's shared core (an attachment that travels
/// beside them), and the receiver builds its own end over that core, typed with its own element type.
/// </summary>
internal sealed class ChannelEndCodec : Codec
{
    private readonly Kind _kind;
    private readonly Type _element;
    private readonly MethodInfo _build;

    private ChannelEndCodec(Type type, Kind kind, Type element)
        : base(type)
    {
        _kind = kind;
        _element = element;
        _build = typeof(ChannelEndCodec).GetMethod(nameof(Build), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(element);
    }

    private enum Kind
    {
        Reader,
        Writer,
        Both,
    }

    public static ChannelEndCodec? TryCreate(Type type, Func<Type, string, Codec> elementCodec)
    {
        if (!type.IsConstructedGenericType)
        {
            return null;
        }

        Type definition = type.GetGenericTypeDefinition();
        Kind? kind = definition == typeof(ChannelReader<>) ? Kind.Reader
            : definition == typeof(ChannelWriter<>) ? Kind.Writer
            : definition == typeof(Channel<>) ? Kind.Both
            : null;
        if (kind is null)
        {
            return null;
        }

        Type element = type.GenericTypeArguments[0];
        _ = elementCodec(element, "<T>"); // the element type must itself be shareable
        return new ChannelEndCodec(type, kind.Value, element);
    }

    public override void Write(ref MessagePackWriter writer, object? value, int depth)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        if (value is not IChannelEnd end)
        {
            throw new NotShareableException(value.GetType(), string.Empty,
                $"{value.GetType()} is a channel end that was not created by IsolateChannel; only IsolateChannel.CreateBounded/CreateUnbounded channels can be shared.");
        }

        if (!string.Equals(end.Core.ElementTypeName, _element.FullName, StringComparison.Ordinal))
        {
            throw new NotShareableException(_element, string.Empty,
                $"A channel of {end.Core.ElementTypeName} was passed where a channel of {_element.FullName} is declared.");
        }

        int index = Payload.Attach(end.Core);
        if (t_crossing is { } crossing)
        {
            crossing.Add((index, (int)_kind));
        }

        writer.Write(index);
    }

    /// <summary>
    /// While a call to a child process is encoded: which kind of end (0 reader, 1 writer, 2 both) each channel attachment
    /// was written as, by attachment index, so the host can bridge it in the right direction. Null otherwise.
    /// </summary>
    [ThreadStatic]
    private static List<(int Index, int Kind)>? t_crossing;

    /// <summary>Encodes with the kind of every channel end recorded (see <see cref="t_crossing"/>).</summary>
    internal static byte[] EncodeRecordingEnds(ReadOnlySpan<Codec> codecs, ReadOnlySpan<object?> values, out object[]? attachments, out List<(int Index, int Kind)> ends)
    {
        List<(int Index, int Kind)>? outer = t_crossing;
        ends = [];
        t_crossing = ends;
        try
        {
            return Payload.Encode(codecs, values, out attachments);
        }
        finally
        {
            t_crossing = outer;
        }
    }

    public override object? Read(ref MessagePackReader reader, int depth)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        if (Payload.Attached(reader.ReadInt32()) is not ChannelCore core)
        {
            throw new IsolateSerializationException("A channel end refers to an attachment that is not a channel.");
        }

        if (_kind != Kind.Reader && Isolate.Current?.Engine is Engines.InProcessEngine holder)
        {
            holder.HoldWriter(core); // if this isolate faults, readers elsewhere learn it instead of waiting forever
        }

        return _build.Invoke(null, [core, (int)_kind]);
    }

    private static object Build<T>(ChannelCore core, int kind) => (Kind)kind switch
    {
        Kind.Reader => core.CreateReader<T>(),
        Kind.Writer => core.CreateWriter<T>(),
        _ => new IsolateChannelPair<T>(core),
    };
}
