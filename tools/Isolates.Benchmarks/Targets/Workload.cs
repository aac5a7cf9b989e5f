namespace Isolates.Benchmarks.Targets;

/// <summary>
/// The code the benchmarks run inside isolates (and, for the floors, inside bare contexts). Kept trivial on purpose:
/// every figure measures the cost of getting there and back, not of the work.
/// </summary>
public static class Workload
{
    public static int Answer() => 42;

    public static int Identity(int value) => value;

    public static Point Scale(Point point, int factor) => new(point.X * factor, point.Y * factor);
}
