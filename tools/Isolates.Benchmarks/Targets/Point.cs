using MessagePack;

namespace Isolates.Benchmarks.Targets;

/// <summary>A user record: each isolate has its own copy of this type, so crossing means encoding and rebuilding.</summary>
[MessagePackObject]
public sealed record Point([property: Key(0)] int X, [property: Key(1)] int Y);
