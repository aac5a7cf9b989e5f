namespace Isolates.Pool;

/// <summary>A run of consecutive input items: <c>Items[Start..Start+Count)</c>, the first being input number <c>FirstIndex</c>.</summary>
internal sealed record Chunk<T>(IReadOnlyList<T> Items, int Start, int Count, long FirstIndex);
