using System.Globalization;
using System.Text;
using Microsoft.Diagnostics.Runtime;

namespace Isolates.LeakDiagnosis;

/// <summary>
/// Names what keeps an unloaded <see cref="System.Runtime.Loader.AssemblyLoadContext"/> alive: takes a snapshot of
/// the own process (on Linux the runtime's <c>createdump</c> writes a temporary core file, deleted afterwards),
/// attaches ClrMD to it, and searches breadth-first from the GC roots for the nearest object that belongs to the
/// context (an instance of one of its types, a <c>RuntimeType</c> of one, or its <c>LoaderAllocator</c>, which every
/// delegate to its methods references). Called by the Isolates runtime, by name, when an isolate leaks.
/// </summary>
public static class LeakInspector
{
    /// <summary>
    /// Describes the shortest reference chain from a GC root to the context, or returns null when none was found.
    /// Synchronous and slow (a second or more): call it off any thread that matters. Holds no reference to the
    /// context: it is identified by numbers and names only.
    /// </summary>
    /// <param name="nativeContext">The context's <c>_nativeAssemblyLoadContext</c> value, or 0 when not known.</param>
    /// <param name="contextName">The context's name, used when <paramref name="nativeContext"/> is 0.</param>
    /// <param name="cancellationToken">Stops the search between steps.</param>
    /// <returns>A one-line description such as "static field System.AppContext.ProcessExit (System.Private.CoreLib) → ...".</returns>
    public static string? Describe(long nativeContext, string contextName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(contextName);
        using DataTarget target = DataTarget.CreateSnapshotAndAttach(Environment.ProcessId);
        cancellationToken.ThrowIfCancellationRequested();
        using ClrRuntime runtime = CreateRuntime(target);
        return new Search(target, runtime, cancellationToken).Run(nativeContext, contextName);
    }

    private static ClrRuntime CreateRuntime(DataTarget target)
    {
        ClrInfo clr = target.ClrVersions.Single();
        try
        {
            return clr.CreateRuntime();
        }
        catch (FileNotFoundException)
        {
            // A snapshot of a .NET 10 process reports its runtime's version as 0.0 here, so ClrMD rejects the DAC
            // that ships beside the running runtime; it is the matching one by construction.
            string dac = Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, DacFileName);
            return clr.CreateRuntime(dac, ignoreMismatch: true);
        }
    }

    private static string DacFileName =>
        OperatingSystem.IsWindows() ? "mscordaccore.dll" : OperatingSystem.IsMacOS() ? "libmscordaccore.dylib" : "libmscordaccore.so";

    private sealed class Search(DataTarget target, ClrRuntime runtime, CancellationToken cancellationToken)
    {
        private readonly ClrHeap _heap = runtime.Heap;
        private readonly Dictionary<ulong, ClrStaticField> _statics = [];
        private readonly HashSet<ulong> _contextTypes = [];
        private readonly Dictionary<ulong, bool> _isContextType = [];
        private ulong _runtimeType;
        private ulong _context;
        private ulong _loaderAllocator;

        public string? Run(long nativeContext, string contextName)
        {
            if (!FindContext(nativeContext, contextName))
            {
                return null;
            }

            _runtimeType = _heap.GetTypeByName("System.RuntimeType")?.MethodTable ?? 0;
            // A thread still running the isolate's code holds it however its objects are referenced: say so first.
            if (FindRunningThread() is { } running)
            {
                return running;
            }

            IndexStatics();
            return Describe(FindChain());
        }

        private bool FindContext(long nativeContext, string contextName)
        {
            var candidates = new Dictionary<ulong, ulong>(); // context object -> a LoaderAllocator handle
            foreach (ClrModule module in runtime.EnumerateModules())
            {
                if (module.LoaderAllocator == 0)
                {
                    continue;
                }

                foreach ((ulong methodTable, int _) in module.EnumerateTypeDefToMethodTableMap())
                {
                    if (_heap.GetTypeByMethodTable(methodTable) is { AssemblyLoadContextAddress: not 0 } type)
                    {
                        candidates.TryAdd(type.AssemblyLoadContextAddress, type.LoaderAllocatorHandle);
                    }
                }
            }

            List<ulong> matches = [];
            foreach (ulong address in candidates.Keys)
            {
                ClrObject context = _heap.GetObject(address);
                if (context.Type is null)
                {
                    continue;
                }

                bool match = nativeContext != 0
                    ? context.TryReadField("_nativeAssemblyLoadContext", out nint native) && native == (nint)nativeContext
                    : context.TryReadStringField("_name", null, out string? name) && name == contextName;
                if (match)
                {
                    matches.Add(address);
                }
            }

            if (matches.Count != 1)
            {
                return false; // not found, or ambiguous by name: better no answer than one about another isolate
            }

            _context = matches[0];
            ulong handle = candidates[_context];
            _loaderAllocator = handle == 0 ? 0 : target.DataReader.ReadPointer(handle);
            foreach (ClrModule module in runtime.EnumerateModules())
            {
                if (module.LoaderAllocator == 0)
                {
                    continue;
                }

                foreach ((ulong methodTable, int _) in module.EnumerateTypeDefToMethodTableMap())
                {
                    if (_heap.GetTypeByMethodTable(methodTable)?.AssemblyLoadContextAddress == _context)
                    {
                        _contextTypes.Add(methodTable);
                    }
                }
            }

            return true;
        }

        private string? FindRunningThread()
        {
            foreach (ClrThread thread in runtime.Threads)
            {
                if (!thread.IsAlive)
                {
                    continue;
                }

                ClrStackFrame? top = null;
                foreach (ClrStackFrame frame in thread.EnumerateStackTrace(includeContext: false, maxFrames: 200))
                {
                    top ??= frame.Method is null ? null : frame;
                    if (frame.Method?.Type is { } type && IsContextType(type.MethodTable))
                    {
                        string where = top is null || top == frame ? "" : $", now in {top.Method!.Signature}";
                        return $"thread {thread.ManagedThreadId.ToString(CultureInfo.InvariantCulture)}, still running the isolate's method " +
                            $"{frame.Method.Signature} ({AssemblyOf(type)}){where}";
                    }
                }
            }

            return null;
        }

        private void IndexStatics()
        {
            ClrAppDomain? domain = runtime.AppDomains.FirstOrDefault();
            if (domain is null)
            {
                return;
            }

            foreach (ClrModule module in runtime.EnumerateModules())
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (ClrType type in module.EnumerateTypesWithStaticFields())
                {
                    foreach (ClrStaticField field in type.StaticFields)
                    {
                        if (!field.IsObjectReference)
                        {
                            continue;
                        }

                        try
                        {
                            ulong address = field.GetAddress(domain);
                            if (address != 0)
                            {
                                _statics[address] = field;
                            }
                        }
                        catch (InvalidOperationException)
                        {
                            // a static not allocated yet: nothing can be rooted through it
                        }
                    }
                }
            }
        }

        private bool IsOfContext(ClrObject obj)
        {
            ClrType? type = obj.Type;
            if (type is null)
            {
                return false;
            }

            if (obj.Address == _loaderAllocator || IsContextType(type.MethodTable))
            {
                return true;
            }

            return type.MethodTable == _runtimeType
                && obj.TryReadField("m_handle", out nint methodTable)
                && IsContextType((ulong)methodTable);
        }

        // Asked of every object visited, and ClrType.AssemblyLoadContextAddress is a DAC request each time: cached.
        private bool IsContextType(ulong methodTable)
        {
            if (!_isContextType.TryGetValue(methodTable, out bool result))
            {
                result = _contextTypes.Contains(methodTable)
                    || _heap.GetTypeByMethodTable(methodTable)?.AssemblyLoadContextAddress is { } context && context == _context;
                _isContextType[methodTable] = result;
            }

            return result;
        }

        private bool IsOwnStatic(ulong address) =>
            _statics.TryGetValue(address, out ClrStaticField? field) && field.ContainingType?.AssemblyLoadContextAddress == _context;

        private List<Link>? FindChain()
        {
            var parents = new Dictionary<ulong, Link>();
            var queue = new Queue<ulong>();
            foreach (ClrRoot root in _heap.EnumerateRoots())
            {
                ClrObject obj = root.Object;
                if (obj.IsNull || parents.ContainsKey(obj.Address))
                {
                    continue;
                }

                // The context's own statics and type handles are reported as static roots; they live in its loader
                // allocator and die with it, so they explain nothing. Static roots that are not a known field of a
                // shared type are of that kind (shared statics also arrive through the strong handle of their bucket).
                if (root.RootKind == ClrRootKind.StaticVar && (IsOwnStatic(root.Address) || !_statics.ContainsKey(root.Address)))
                {
                    continue;
                }

                parents[obj.Address] = new Link(obj.Address, 0, root);
                queue.Enqueue(obj.Address);
            }

            int visited = 0;
            foreach (ulong rootObject in queue)
            {
                if (IsOfContext(_heap.GetObject(rootObject)))
                {
                    return ChainTo(rootObject, parents);
                }
            }

            while (queue.TryDequeue(out ulong address))
            {
                if (++visited % 4096 == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                ClrObject obj = _heap.GetObject(address);
                // The context object itself is traversed too: after Unload the runtime holds it by a strong handle
                // until the context is collected, so anything it references that references the isolate is a cycle
                // that never ends (docs/unloading.md), and the chain through it is the right answer.
                if (obj.Type is null)
                {
                    continue;
                }

                // Addresses only (fields are looked up again for the few links of the answer), and each child is
                // tested as it is found: both matter on a heap of millions of objects.
                foreach (ulong child in obj.EnumerateReferenceAddresses(carefully: false, considerDependantHandles: true))
                {
                    if (child == 0 || parents.ContainsKey(child))
                    {
                        continue;
                    }

                    parents[child] = new Link(child, address, null);
                    if (IsOfContext(_heap.GetObject(child)))
                    {
                        return ChainTo(child, parents);
                    }

                    queue.Enqueue(child);
                }
            }

            return null;
        }

        private List<Link> ChainTo(ulong address, Dictionary<ulong, Link> parents)
        {
            List<Link> chain = [];
            for (ulong at = address; at != 0; at = parents[at].Parent)
            {
                Link link = parents[at];
                if (link.Parent != 0)
                {
                    // Which field or element of the parent holds the child: looked up only for the answer's links.
                    foreach (ClrReference reference in _heap.GetObject(link.Parent).EnumerateReferencesWithFields(carefully: false, considerDependantHandles: true))
                    {
                        if (reference.Object.Address == at)
                        {
                            link = link with
                            {
                                Field = reference.IsField ? reference.Field?.Name : null,
                                ArrayOffset = reference.IsArrayElement ? reference.Offset : -1,
                            };
                            break;
                        }
                    }
                }

                chain.Add(link);
            }

            chain.Reverse();
            return chain;
        }

        private string? Describe(List<Link>? chain)
        {
            if (chain is null || chain.Count == 0)
            {
                return null;
            }

            int lastTimer = chain.FindLastIndex(link => _heap.GetObjectType(link.Address)?.Name == "System.Threading.TimerQueueTimer");
            if (lastTimer >= 0)
            {
                // Timers sit in a doubly linked list of the runtime's timer queue: the shortest path may enter it
                // through any other timer of the process, which explains nothing. Start at the isolate's timer.
                var fromTimer = new List<string> { "the runtime's timer queue (System.Threading.TimerQueue)" };
                for (int i = lastTimer; i < chain.Count; i++)
                {
                    fromTimer.Add(DescribeObject(i == lastTimer ? chain[i] with { Field = null } : chain[i], i == chain.Count - 1));
                }

                return string.Join(" -> ", fromTimer);
            }

            var steps = new List<string> { DescribeRoot(chain[0].Root!, chain.Count > 1 ? chain[1] : null, out bool skipFirst) };
            for (int i = skipFirst ? 1 : 0; i < chain.Count; i++)
            {
                steps.Add(DescribeObject(chain[i], i == chain.Count - 1));
            }

            // Long chains through collections are mostly noise; keep the root, the last shared objects and the isolate's.
            if (steps.Count > 8)
            {
                steps = [steps[0], "...", .. steps[^6..]];
            }

            return string.Join(" -> ", steps);
        }

        private string DescribeRoot(ClrRoot root, Link? next, out bool skipFirst)
        {
            skipFirst = false;
            if (_statics.TryGetValue(root.Address, out ClrStaticField? direct))
            {
                return "static field " + FieldName(direct);
            }

            // A shared type's statics live in a pinned object[] held by one strong handle: name the slot's field.
            if (next is { ArrayOffset: >= 0 } slot
                && _statics.TryGetValue(slot.Parent + (ulong)slot.ArrayOffset + (ulong)IntPtr.Size, out ClrStaticField? field))
            {
                skipFirst = true;
                return "static field " + FieldName(field);
            }

            return root.RootKind switch
            {
                ClrRootKind.StrongHandle => "a strong GC handle (GCHandle.Alloc or a runtime handle)",
                ClrRootKind.PinnedHandle or ClrRootKind.AsyncPinnedHandle => "a pinned GC handle",
                ClrRootKind.RefCountedHandle => "a ref-counted (COM) GC handle",
                ClrRootKind.SizedRefHandle => "a sized-ref GC handle",
                ClrRootKind.Stack => "a local variable on a running thread's stack" + StackDetail(root),
                ClrRootKind.FinalizerQueue => "the finalizer queue (an object waiting to be finalized)",
                ClrRootKind.StaticVar => "a static field",
                ClrRootKind.ThreadStaticVar => "a [ThreadStatic] field",
                _ => root.RootKind.ToString(),
            };
        }

        private static string StackDetail(ClrRoot root) =>
            root is ClrStackRoot { StackFrame: { } frame }
                ? $" (thread {frame.Thread?.ManagedThreadId.ToString(CultureInfo.InvariantCulture) ?? "?"}, in {frame.Method?.Signature ?? frame.FrameName ?? "native code"})"
                : "";

        private string DescribeObject(Link link, bool last)
        {
            ClrObject obj = _heap.GetObject(link.Address);
            ClrType? type = obj.Type;
            var text = new StringBuilder();
            if (link.Field is { } fieldName)
            {
                text.Append('.').Append(fieldName).Append(": ");
            }

            if (last)
            {
                if (obj.Address == _loaderAllocator)
                {
                    return text.Append("the isolate's code (its LoaderAllocator, which delegates to its methods reference)").ToString();
                }

                if (type?.Name == "System.RuntimeType" && obj.TryReadField("m_handle", out nint mt))
                {
                    return text.Append("the isolate's type ").Append(_heap.GetTypeByMethodTable((ulong)mt)?.Name ?? "?").ToString();
                }

                return text.Append("the isolate's object ").Append(type?.Name ?? "?").Append(" (").Append(AssemblyOf(type)).Append(')').ToString();
            }

            text.Append(type?.Name ?? "?").Append(" (").Append(AssemblyOf(type)).Append(')');
            if (obj.IsDelegate)
            {
                ClrMethod? method = null;
                bool multicast = false;
                try
                {
                    ClrDelegate del = obj.AsDelegate();
                    multicast = del.HasMultipleTargets;
                    method = multicast ? null : del.GetDelegateTarget()?.Method;
                }
                catch (InvalidOperationException)
                {
                }

                if (multicast)
                {
                    text.Append(" with several handlers");
                }
                else if (method?.Signature is { } signature)
                {
                    text.Append(" to ").Append(signature);
                }
            }
            else if (type?.Name is "System.Threading.TimerQueueTimer")
            {
                text.Append(" [a System.Threading.Timer still scheduled]");
            }

            return text.ToString();
        }

        private static string FieldName(ClrStaticField field) =>
            $"{field.ContainingType?.Name}.{field.Name} ({AssemblyOf(field.ContainingType)})";

        private static string AssemblyOf(ClrType? type)
        {
            string? name = type?.Module?.AssemblyName ?? type?.Module?.Name;
            return string.IsNullOrEmpty(name) ? "?" : Path.GetFileNameWithoutExtension(name);
        }
    }

    private sealed record Link(ulong Address, ulong Parent, ClrRoot? Root)
    {
        public string? Field { get; init; }


        public int ArrayOffset { get; init; } = -1;
    }
}
