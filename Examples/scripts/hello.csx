// hello.csx: who am I, and whose statics are these?
// Run: dotnet run --project tools/Isolates.Cli -- run Examples/scripts/hello.csx
//      dotnet run --project tools/Isolates.Cli -- run --isolates 3 Examples/scripts/hello.csx
Isolate me = Isolate.Current!;
Console.WriteLine($"hello from isolate '{me.Name}' (id {me.Id}), copy {ScriptEnvironment.Index + 1} of {ScriptEnvironment.Count}, args: [{string.Join(", ", args)}]");

// Visits is a static field of this script's assembly: every isolate that loads the script has its own copy.
Visits.Count += 10;
await using Isolate child = await Isolate.CreateAsync(new IsolateOptions { Name = $"{me.Name}-child" });
int inChild = await child.CallAsync(Visits.Bump);   // the child loads the same compiled script and runs Bump there
int again = await child.CallAsync(Visits.Bump);
Console.WriteLine($"statics: here {Visits.Count}, in '{child.Name}' {again} (after {inChild}); each isolate counts on its own");
return 0;

public static class Visits
{
    public static int Count;

    public static int Bump() => ++Count;
}
