using System.Reflection;
using Isolates.Benchmarks.Targets;

namespace Isolates.Benchmarks.Floors;

/// <summary>
/// What the floors run on a <see cref="BareIsolate"/>'s thread: find the method in the context's own copy of the
/// assembly and call it by reflection, converting arguments and results by hand (the least a copying call can do).
/// </summary>
public static class Reflective
{
    private static readonly string WorkloadName = typeof(Workload).FullName!;
    private static readonly string PointName = typeof(Point).FullName!;

    public static int Answer(Assembly assembly) => (int)Method(assembly, nameof(Workload.Answer)).Invoke(null, null)!;

    public static int Identity(Assembly assembly, int value) =>
        (int)Method(assembly, nameof(Workload.Identity)).Invoke(null, [value])!;

    /// <summary>Rebuilds the point as the context's own type, calls Scale, and rebuilds the result as the host's type.</summary>
    public static Point Scale(Assembly assembly, Point point, int factor)
    {
        Type pointType = assembly.GetType(PointName, throwOnError: true)!;
        object argument = Activator.CreateInstance(pointType, point.X, point.Y)!;
        object result = Method(assembly, nameof(Workload.Scale)).Invoke(null, [argument, factor])!;
        int x = (int)pointType.GetProperty(nameof(Point.X))!.GetValue(result)!;
        int y = (int)pointType.GetProperty(nameof(Point.Y))!.GetValue(result)!;
        return new Point(x, y);
    }

    private static MethodInfo Method(Assembly assembly, string name) =>
        assembly.GetType(WorkloadName, throwOnError: true)!.GetMethod(name, BindingFlags.Public | BindingFlags.Static)!;
}
