using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Isolates.Tests.Support;

namespace Isolates.Tests.Unloading;

/// <summary>
/// When an isolate leaks, UnloadDiagnostic names what holds it (Unloading/LeakDiagnosis, with the optional
/// Isolates.LeakDiagnosis assembly this test project references): three different causes, each named.
/// </summary>
[TestFixture]
[NonParallelizable] // each diagnosis snapshots the whole process; several at once only slow each other down
[CancelAfter(60_000)]
public class LeakDiagnosisTests
{
    private static IsolateOptions Options(string name) => new() { Name = name, UnloadTimeout = TimeSpan.FromMilliseconds(300) };

    // The test project turns the diagnosis off (see Isolates.Runtime.Tests.csproj); these tests are what it is for.
    [OneTimeSetUp]
    public void TurnTheDiagnosisOn() => AppContext.SetSwitch("Isolates.Unloading.DisableLeakDiagnosis", false);

    [OneTimeTearDown]
    public void TurnTheDiagnosisOff() => AppContext.SetSwitch("Isolates.Unloading.DisableLeakDiagnosis", true);

    [Test]
    public async Task CloseAsync_HandlerOnProcessExit_DiagnosticNamesTheStaticEventAndTheDelegate()
    {
        Isolate iso = await Isolate.CreateAsync(Options("leak-event"));
        await iso.CallAsync(Failing.LeakIntoSharedEvent);

        await iso.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));

        TestContext.Out.WriteLine(iso.UnloadDiagnostic);
        Assert.Multiple(() =>
        {
            Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Leaked));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("held by: static field System.AppDomain.s_domain (System.Private.CoreLib) -> System.AppDomain"));
            // Other tests' leaked handlers may make the event multicast: the isolate's handler is then one link further.
            Assert.That(iso.UnloadDiagnostic, Does.Contain(".ProcessExit: System.EventHandler (System.Private.CoreLib)"));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("System.EventHandler (System.Private.CoreLib) to Isolates.Tests.Support.Failing.OnProcessExit"));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("the isolate's code"));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("loaded privately: ").And.Contain("Isolates.Runtime.Tests.Support"));
        });
    }

    [Test]
    public async Task CloseAsync_IsolateObjectInStrongGCHandle_DiagnosticNamesTheHandleAndTheObject()
    {
        Isolate iso = await Isolate.CreateAsync(Options("leak-handle"));
        long handle = await iso.CallAsync(LeakFunctions.HoldInGCHandle);

        try
        {
            await iso.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));

            TestContext.Out.WriteLine(iso.UnloadDiagnostic);
            Assert.Multiple(() =>
            {
                Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Leaked));
                Assert.That(iso.UnloadDiagnostic, Does.Contain("held by: a strong GC handle"));
                Assert.That(iso.UnloadDiagnostic, Does.Contain("the isolate's object Isolates.Tests.Support.LeakedState (Isolates.Runtime.Tests.Support)"));
            });
        }
        finally
        {
            GCHandle.FromIntPtr(new IntPtr(handle)).Free();
        }

        // The diagnosis itself holds nothing: with the handle gone the context unloads.
        bool gone = false;
        for (int i = 0; i < 50 && !gone; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            gone = !AssemblyLoadContext.All.Any(c => c.Name == "leak-handle");
            if (!gone)
            {
                await Task.Delay(20);
            }
        }

        Assert.That(gone, Is.True, "the context is collected once the leaking handle is freed");
    }

    [Test]
    public async Task CloseAsync_TimerLeftRunning_DiagnosticNamesTheTimer()
    {
        Isolate iso = await Isolate.CreateAsync(Options("leak-timer"));
        await iso.CallAsync(LeakFunctions.StartTimer);

        await iso.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));

        TestContext.Out.WriteLine(iso.UnloadDiagnostic);
        Assert.Multiple(() =>
        {
            Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Leaked));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("held by: the runtime's timer queue (System.Threading.TimerQueue) -> System.Threading.TimerQueueTimer"));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("[a System.Threading.Timer still scheduled] -> ._timerCallback: System.Threading.TimerCallback"));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("Isolates.Tests.Support.LeakFunctions"));
        });
    }

    [Test]
    public async Task CloseAsync_DiagnosisSwitchedOff_DiagnosticListsAssembliesWithoutSearching()
    {
        Isolate iso = await Isolate.CreateAsync(Options("leak-undiagnosed"));
        await iso.CallAsync(Failing.LeakIntoSharedEvent);

        AppContext.SetSwitch("Isolates.Unloading.DisableLeakDiagnosis", true);
        try
        {
            await iso.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            AppContext.SetSwitch("Isolates.Unloading.DisableLeakDiagnosis", false);
        }

        Assert.Multiple(() =>
        {
            Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Leaked));
            Assert.That(iso.UnloadDiagnostic, Does.Not.Contain("held by:"));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("still references one of its objects"));
            Assert.That(iso.UnloadDiagnostic, Does.Contain("loaded privately: ").And.Contain("Isolates.Runtime.Tests.Support"));
        });
    }

    [Test]
    public async Task CloseAsync_IsolateObjectInAppContextData_DiagnosticNamesTheFrameworkStatic()
    {
        Isolate iso = await Isolate.CreateAsync(Options("leak-appcontext"));
        await iso.CallAsync(LeakFunctions.PutInAppContext, "Isolates.Tests.LeakDiagnosis");

        try
        {
            await iso.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));

            TestContext.Out.WriteLine(iso.UnloadDiagnostic);
            Assert.Multiple(() =>
            {
                Assert.That(iso.UnloadStatus, Is.EqualTo(UnloadStatus.Leaked));
                Assert.That(iso.UnloadDiagnostic, Does.Contain("held by: static field System.AppContext.s_dataStore (System.Private.CoreLib)"));
                Assert.That(iso.UnloadDiagnostic, Does.Contain("the isolate's object Isolates.Tests.Support.LeakedState"));
            });
        }
        finally
        {
            AppContext.SetData("Isolates.Tests.LeakDiagnosis", null);
        }
    }
}
