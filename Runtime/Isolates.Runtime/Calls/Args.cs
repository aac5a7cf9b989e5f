namespace Isolates.Calls;

/// <summary>
/// The arguments of one call, kept in a struct of their own static types so that the direct path (every type
/// shared and immutable) invokes the isolate's delegate without boxing.
/// </summary>
internal interface IArgs
{
    int Count { get; }

    object? Get(int index);
}

/// <summary>No arguments.</summary>
internal readonly struct Args0 : IArgs
{
    public int Count => 0;

    public object? Get(int index) => throw new ArgumentOutOfRangeException(nameof(index));
}

/// <summary>One argument.</summary>
internal readonly struct Args1<T1>(T1 a1) : IArgs
{
    public readonly T1 A1 = a1;

    public int Count => 1;

    public object? Get(int index) => index == 0 ? A1 : throw new ArgumentOutOfRangeException(nameof(index));
}

/// <summary>Two arguments.</summary>
internal readonly struct Args2<T1, T2>(T1 a1, T2 a2) : IArgs
{
    public readonly T1 A1 = a1;
    public readonly T2 A2 = a2;

    public int Count => 2;

    public object? Get(int index) => index switch { 0 => A1, 1 => A2, _ => throw new ArgumentOutOfRangeException(nameof(index)) };
}

/// <summary>Three arguments.</summary>
internal readonly struct Args3<T1, T2, T3>(T1 a1, T2 a2, T3 a3) : IArgs
{
    public readonly T1 A1 = a1;
    public readonly T2 A2 = a2;
    public readonly T3 A3 = a3;

    public int Count => 3;

    public object? Get(int index) => index switch { 0 => A1, 1 => A2, 2 => A3, _ => throw new ArgumentOutOfRangeException(nameof(index)) };
}

/// <summary>Four arguments.</summary>
internal readonly struct Args4<T1, T2, T3, T4>(T1 a1, T2 a2, T3 a3, T4 a4) : IArgs
{
    public readonly T1 A1 = a1;
    public readonly T2 A2 = a2;
    public readonly T3 A3 = a3;
    public readonly T4 A4 = a4;

    public int Count => 4;

    public object? Get(int index) => index switch { 0 => A1, 1 => A2, 2 => A3, 3 => A4, _ => throw new ArgumentOutOfRangeException(nameof(index)) };
}
