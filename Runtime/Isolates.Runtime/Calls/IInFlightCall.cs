namespace Isolates.Calls;

/// <summary>An async call that started in the isolate and has not finished; failed if the isolate stops first.</summary>
internal interface IInFlightCall
{
    void Abandon(Exception reason);
}
