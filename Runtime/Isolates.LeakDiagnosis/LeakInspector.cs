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
        private ulong _context;
        private ulong _loaderAllocator;

        public string? Run(long nativeContext, string contextName)
        {
            if (!FindContext(nativeContext, contextName))
            {
                return null;
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

            if (obj.Address == _loaderAllocator || type.AssemblyLoadContextAddress == _context && _context != 0)
            {
                return true;
            }

            if (type.Name == "System.RuntimeType" && obj.TryReadField("m_handle", out nint methodTable))
            {
                return _contextTypes.Contains((ulong)methodTable)
                    || _heap.GetTypeByMethodTable((ulong)methodTable)?.AssemblyLoadContextAddress == _context;
            }

            return false;
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

                parents[obj.Address] = new Link(obj.Address, 0, null, root);
                queue.Enqueue(obj.Address);
            }

            int visited = 0;
            while (queue.TryDequeue(out ulong address))
            {
                if (++visited % 4096 == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                ClrObject obj = _heap.GetObject(address);
                if (IsOfContext(obj))
                {
                    List<Link> chain = [];
                    for (ulong at = address; at != 0; at = parents[at].Parent)
                    {
                        chain.Add(parents[at]);
                    }

                    chain.Reverse();
                    return chain;
                }

                if (obj.Type is null || obj.Type.Name == "System.Runtime.Loader.AssemblyLoadContext")
                {
                    continue;
                }

                foreach (ClrReference reference in obj.EnumerateReferencesWithFields(carefully: false, considerDependantHandles: true))
                {
                    ulong child = reference.Object.Address;
                    if (child == 0 || parents.ContainsKey(child))
                    {
                        continue;
                    }

                    // A static of the context's own types, reached through a shared bucket: not a way in from outside.
                    if (reference.IsArrayElement && IsOwnStatic(address + (ulong)reference.Offset + (ulong)IntPtr.Size))
                    {
                        continue;
                    }

                    parents[child] = new Link(child, address, reference.IsField ? reference.Field?.Name : null, null)
                    {
                        ArrayOffset = reference.IsArrayElement ? reference.Offset : -1,
                    };
                    queue.Enqueue(child);
                }
            }

            return null;
        }

        private string? Describe(List<Link>? chain)
        {
            if (chain is null || chain.Count == 0)
            {
                return null;
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
                try
                {
                    method = obj.AsDelegate().GetDelegateTarget()?.Method;
                }
                catch (InvalidOperationException)
                {
                }

                if (method?.Signature is { } signature)
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

    private sealed record Link(ulong Address, ulong Parent, string? Field, ClrRoot? Root)
    {
        public int ArrayOffset { get; init; } = -1;
    }
}
