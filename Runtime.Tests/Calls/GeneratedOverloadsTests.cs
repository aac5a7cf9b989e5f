using System.Reflection;
using System.Runtime.CompilerServices;
using Isolates.Overloads;

namespace Isolates.Tests.Calls;

/// <summary>
/// The CallAsync/SubmitAsync overload families are written by tools/Isolates.Overloads from one template (compiled
/// into this project too): the committed files must be what it writes, and the two families must keep one shape set.
/// </summary>
[TestFixture]
public class GeneratedOverloadsTests
{
    [Test]
    public void GeneratedFiles_Committed_MatchTheTemplate()
    {
        string root = OverloadTemplate.FindRepositoryRoot(TestContext.CurrentContext.TestDirectory)
            ?? throw new InvalidOperationException("Isolates.sln not found above the test directory.");

        foreach (GeneratedFile file in OverloadTemplate.Files())
        {
            string committed = File.ReadAllText(Path.Combine(root, file.RelativePath)).ReplaceLineEndings("\n");
            Assert.That(committed, Is.EqualTo(file.Text),
                $"{file.RelativePath} differs from what tools/Isolates.Overloads writes: edit OverloadTemplate.cs (not the .g.cs file) and run 'dotnet run --project tools/Isolates.Overloads'.");
        }
    }

    [Test]
    public void SubmitAsync_Overloads_MirrorCallAsyncOneForOne()
    {
        string[] calls = Signatures(typeof(Isolate), nameof(Isolate.CallAsync));
        string[] submits = Signatures(typeof(IsolatePool), nameof(IsolatePool.SubmitAsync));

        Assert.That(calls, Has.Length.EqualTo(30));
        Assert.That(submits, Is.EqualTo(calls));
    }

    [Test]
    public void OverloadResolutionPriority_OnlyOnTaskShapes_InBothFamilies()
    {
        foreach (Type type in new[] { typeof(Isolate), typeof(IsolatePool) })
        {
            foreach (MethodInfo method in type.GetMethods().Where(m => m.Name is "CallAsync" or "SubmitAsync"))
            {
                Type returns = method.GetParameters()[0].ParameterType;
                Type result = returns.IsGenericType ? returns.GetGenericArguments()[^1] : typeof(void);
                bool isTask = result == typeof(Task) || (result.IsGenericType && result.GetGenericTypeDefinition() == typeof(Task<>));
                Assert.That(method.GetCustomAttribute<OverloadResolutionPriorityAttribute>()?.Priority ?? 0, Is.EqualTo(isTask ? 1 : 0), method.ToString());
            }
        }
    }

    /// <summary>Each overload as "return type (parameter types)", generic parameters by position, sorted.</summary>
    private static string[] Signatures(Type type, string name) =>
        [.. type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.Name == name)
            .Select(m => $"{m.ReturnType} ({string.Join(", ", m.GetParameters().Select(p => p.ParameterType))})")
            .Order(StringComparer.Ordinal)];
}
