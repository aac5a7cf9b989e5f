using System.Threading.Channels;

namespace Isolates;

/// <summary>What <see cref="IsolateChannel.SelectAsync{T}(IReadOnlyList{ChannelReader{T}}, CancellationToken)"/> found: the item and where it came from.</summary>
/// <typeparam name="T">The element type.</typeparam>
/// <param name="Item">The item that was read.</param>
/// <param name="Reader">The reader it was read from.</param>
/// <param name="Index">The position of that reader in the list given to the select.</param>
public readonly record struct Selected<T>(T Item, ChannelReader<T> Reader, int Index);
