namespace Isolates.Tests.Processes;

/// <summary>Examples/Sandbox (untrusted and runaway code contained in child processes) passes its own self-test.</summary>
[TestFixture]
[CancelAfter(180_000)]
public class SandboxExampleTests
{
    [Test]
    public async Task SandboxExample_SelfTest_ExitsZeroWithEveryCaseContained()
    {
        (int exit, string output) = await ExampleProgram.RunAsync("Sandbox", "--self-test");
        TestContext.Out.WriteLine(output);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("runaway: Killed").And.Contain("memory hog: MemoryLimitExceeded").And.Contain("stack overflow: Crashed"));
            Assert.That(output, Does.Not.Contain("FAIL"));
        });
    }
}
