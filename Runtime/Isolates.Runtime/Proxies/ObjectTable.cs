namespace Isolates.Proxies;

/// <summary>
/// The objects living in one isolate, by id. Used on the isolate's thread; a lock only because closing clears it from
/// the thread that saw the isolate stop (possibly while a stuck isolate thread still runs). Never calls user code.
/// </summary>
internal sealed class ObjectTable
{
    private readonly Dictionary<long, object> _objects = [];
    private long _nextId;
    private bool _cleared;

    public int Count
    {
        get
        {
            lock (_objects)
            {
                return _objects.Count;
            }
        }
    }

    /// <summary>Adds <paramref name="value"/>; false (and no id) once the isolate has stopped.</summary>
    public bool TryAdd(object value, out long id)
    {
        lock (_objects)
        {
            if (_cleared)
            {
                id = 0;
                return false;
            }

            id = ++_nextId;
            _objects.Add(id, value);
            return true;
        }
    }

    public object? Find(long id)
    {
        lock (_objects)
        {
            return _objects.GetValueOrDefault(id);
        }
    }

    public object? Remove(long id)
    {
        lock (_objects)
        {
            return _objects.Remove(id, out object? value) ? value : null;
        }
    }

    /// <summary>
    /// Takes every object out for good, newest first (the isolate is closing gracefully and disposes them, as a DI
    /// container disposes its singletons): later adds fail, and the table no longer references them.
    /// </summary>
    public KeyValuePair<long, object>[] TakeAll()
    {
        lock (_objects)
        {
            _cleared = true;
            KeyValuePair<long, object>[] taken = [.. _objects.OrderByDescending(pair => pair.Key)];
            _objects.Clear();
            return taken;
        }
    }

    /// <summary>Drops every object for good (the isolate stopped): nothing in the runtime may keep its types alive.</summary>
    public void Clear()
    {
        lock (_objects)
        {
            _cleared = true;
            _objects.Clear();
        }
    }
}
