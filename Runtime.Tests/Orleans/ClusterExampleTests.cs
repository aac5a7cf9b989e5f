namespace Isolates.Tests.Orleans;

/// <summary>Examples/Cluster (two silo processes and a client mapping over both) passes its own self-test.</summary>
[TestFixture]
[CancelAfter(180_000)]
public class ClusterExampleTests
{
    [Test]
    public async Task ClusterExample_SelfTest_ExitsZeroWithExactResultsFromBothSilos()
    {
        (int exit, string output) = await ExampleProgram.RunAsync("Cluster", "--self-test");
        TestContext.Out.WriteLine(output);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("self-test: PASS").And.Contain("exact, in input order"));
            Assert.That(output, Does.Not.Contain("FAIL"));
        });
    }
}
