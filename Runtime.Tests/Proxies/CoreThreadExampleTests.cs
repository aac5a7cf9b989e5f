namespace Isolates.Tests.Proxies;

/// <summary>Examples/CoreThread (workers in a pool update a core object through a proxy) passes its own self-test.</summary>
[TestFixture]
[CancelAfter(180_000)]
public class CoreThreadExampleTests
{
    [Test]
    public async Task CoreThreadExample_SelfTest_ExitsZeroWithEveryUpdateAppliedExactlyOnce()
    {
        (int exit, string output) = await ExampleProgram.RunAsync("CoreThread", "3", "1000", "--self-test");
        TestContext.Out.WriteLine(output);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("applied 3000 updates from 3 workers").And.Contain("core thread: exact"));
            Assert.That(output, Does.Not.Contain("FAIL"));
        });
    }

    [Test]
    public async Task CoreThreadExample_WorkersInChildProcesses_SelfTestExitsZeroWithEveryUpdateAppliedExactlyOnce()
    {
        (int exit, string output) = await ExampleProgram.RunAsync("CoreThread", "2", "1000", "--process", "--self-test");
        TestContext.Out.WriteLine(output);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("applied 2000 updates from 2 workers").And.Contain("every worker ran in a child process").And.Contain("core thread: exact"));
            Assert.That(output, Does.Not.Contain("FAIL"));
        });
    }
}
