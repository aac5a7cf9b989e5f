namespace Isolates.Tests.Scripting;

/// <summary>An isolate for a synchronous test body (Assert.ThrowsAsync), closed at the end.</summary>
internal sealed class IsolateScope : IDisposable
{
    public IsolateScope() => Isolate = Isolate.CreateAsync().GetAwaiter().GetResult();

    public Isolate Isolate { get; }

    public void Dispose() => Isolate.CloseAsync().WaitAsync(Wait.Timeout).GetAwaiter().GetResult();
}
