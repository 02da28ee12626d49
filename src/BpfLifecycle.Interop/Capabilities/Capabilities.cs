// Reads and lowers the capabilities of the calling thread (capget/capset), and says which capabilities
// each BPF operation needs, so a service can run with the least it needs and explain an EPERM.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>The capability sets of one thread.</summary>
/// <param name="ThreadId">The kernel thread id (tid) the sets belong to.</param>
/// <param name="Effective">What the kernel checks permissions against.</param>
/// <param name="Permitted">What the thread may raise into its effective set.</param>
/// <param name="Inheritable">What survives execve for programs with matching file capabilities.</param>
/// <param name="Bounding">The limit on capabilities gained through execve.</param>
/// <param name="Ambient">What survives execve of programs without file capabilities.</param>
public sealed record CapabilityState(int ThreadId, CapabilitySet Effective, CapabilitySet Permitted, CapabilitySet Inheritable, CapabilitySet Bounding, CapabilitySet Ambient);

/// <summary>Operations whose capability needs <see cref="Capabilities.Required(BpfOperation)"/> can name.</summary>
public enum BpfOperation
{
    /// <summary>BPF_MAP_CREATE.</summary>
    CreateMap,
    /// <summary>Loading a socket filter program.</summary>
    LoadSocketFilter,
    /// <summary>Loading a cgroup skb program.</summary>
    LoadCgroupSkb,
    /// <summary>Loading an XDP program.</summary>
    LoadXdp,
    /// <summary>Loading a tc/tcx (sched_cls) program.</summary>
    LoadTc,
    /// <summary>Loading a tracepoint program.</summary>
    LoadTracepoint,
    /// <summary>Loading a raw tracepoint program.</summary>
    LoadRawTracepoint,
    /// <summary>Loading a uprobe (or kprobe) program.</summary>
    LoadUprobe,
    /// <summary>Opening a tracepoint or uprobe perf event to attach a program to.</summary>
    OpenPerfEvent,
    /// <summary>Listing programs, maps and links by id (<c>*_GET_NEXT_ID</c>, <c>*_GET_FD_BY_ID</c>).</summary>
    EnumerateObjects,
    /// <summary>BPF_ENABLE_STATS.</summary>
    EnableStats,
}

/// <summary>
/// What an operation needs: every capability of <see cref="AllOf"/>, or CAP_SYS_ADMIN alone (the kernel's BPF checks
/// — <c>bpf_capable</c>, <c>perfmon_capable</c>, <c>bpf_net_capable</c> — all accept CAP_SYS_ADMIN instead).
/// </summary>
/// <param name="Operation">What the requirement is for, e.g. <c>load XDP program</c>.</param>
/// <param name="AllOf">The capabilities needed together.</param>
public sealed record CapabilityRequirement(string Operation, CapabilitySet AllOf)
{
    /// <summary>Whether a thread with <paramref name="effective"/> may perform the operation.</summary>
    public bool IsSatisfiedBy(CapabilitySet effective) => effective.Contains(Capability.SysAdmin) || effective.ContainsAll(AllOf);

    /// <summary>The capabilities <paramref name="effective"/> lacks (empty when satisfied).</summary>
    public CapabilitySet MissingFrom(CapabilitySet effective) => IsSatisfiedBy(effective) ? CapabilitySet.Empty : AllOf.Except(effective);

    /// <summary>E.g. <c>load XDP program needs CAP_NET_ADMIN,CAP_BPF (or CAP_SYS_ADMIN)</c>.</summary>
    public override string ToString()
        => AllOf.Mask == CapabilitySet.Of(Capability.SysAdmin).Mask ? $"{Operation} needs CAP_SYS_ADMIN" : $"{Operation} needs {AllOf} (or CAP_SYS_ADMIN)";
}

/// <summary>
/// Capabilities of the calling thread and the BPF operations they allow.
/// <para>
/// Linux keeps capabilities per <em>thread</em>: capget/capset read and change only the calling thread, and a new
/// thread starts with the sets of the thread that created it. A .NET process already runs several threads (GC,
/// finalizer, thread pool, timers) before <c>Main</c>, so <see cref="DropTo"/> lowers the calling thread and the
/// threads it starts afterwards, not the runtime's existing threads. bpf(2) checks the credentials of the thread that
/// calls it, so operations run on the dropped thread see the lower set. To run a whole service with fewer
/// capabilities, start the process with them (systemd <c>CapabilityBoundingSet=</c>/<c>AmbientCapabilities=</c>,
/// container <c>--cap-drop</c>/<c>--cap-add</c>, <c>capsh</c>); glibc's <c>setuid</c>-style broadcast to all threads
/// has no capset counterpart, and libcap's process-wide mode (libpsx) works by hooking thread creation, which the
/// .NET runtime does not go through.
/// </para>
/// </summary>
public static unsafe class Capabilities
{
    private const uint LinuxCapabilityVersion3 = 0x20080522;

    /// <summary>The capability sets of the calling thread.</summary>
    public static CapabilityState Current()
    {
        var tid = CurrentThreadId();
        var (eff, prm, inh) = CapGet();
        var (bnd, amb) = ReadBoundingAndAmbient($"/proc/self/task/{tid}/status");
        return new CapabilityState(tid, eff, prm, inh, bnd, amb);
    }

    /// <summary>The capability sets of another thread of this process, read from <c>/proc/self/task/&lt;tid&gt;/status</c>.</summary>
    public static CapabilityState OfThread(int threadId)
    {
        var path = $"/proc/self/task/{threadId}/status";
        if (!File.Exists(path))
        {
            throw new ArgumentException($"Thread {threadId} is not a thread of this process.", nameof(threadId));
        }

        CapabilitySet eff = default, prm = default, inh = default, bnd = default, amb = default;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith("Cap", StringComparison.Ordinal))
            {
                continue;
            }

            var value = line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().ToString();
            switch (line.AsSpan(0, 6))
            {
                case "CapEff": eff = CapabilitySet.FromHex(value); break;
                case "CapPrm": prm = CapabilitySet.FromHex(value); break;
                case "CapInh": inh = CapabilitySet.FromHex(value); break;
                case "CapBnd": bnd = CapabilitySet.FromHex(value); break;
                case "CapAmb": amb = CapabilitySet.FromHex(value); break;
                default: break;
            }
        }

        return new CapabilityState(threadId, eff, prm, inh, bnd, amb);
    }

    /// <summary>The kernel id (tid) of the calling thread.</summary>
    public static int CurrentThreadId() => (int)Native.Interop.Libc.Syscall(Numbers.Gettid, 0, null, 0);

    /// <summary>What an operation needs.</summary>
    public static CapabilityRequirement Required(BpfOperation operation) => operation switch
    {
        BpfOperation.CreateMap => new("create map", CapabilitySet.Of(Capability.Bpf)),
        BpfOperation.LoadSocketFilter => Required(BpfProgramType.SocketFilter),
        BpfOperation.LoadCgroupSkb => Required(BpfProgramType.CgroupSkb),
        BpfOperation.LoadXdp => Required(BpfProgramType.Xdp),
        BpfOperation.LoadTc => Required(BpfProgramType.SchedCls),
        BpfOperation.LoadTracepoint => Required(BpfProgramType.Tracepoint),
        BpfOperation.LoadRawTracepoint => Required(BpfProgramType.RawTracepoint),
        BpfOperation.LoadUprobe => Required(BpfProgramType.Kprobe),
        BpfOperation.OpenPerfEvent => new("open tracepoint/uprobe perf event", CapabilitySet.Of(Capability.Perfmon)),
        BpfOperation.EnumerateObjects => new("enumerate BPF objects by id", CapabilitySet.Of(Capability.SysAdmin)),
        BpfOperation.EnableStats => new("enable BPF run-time statistics", CapabilitySet.Of(Capability.SysAdmin)),
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "Unknown BPF operation."),
    };

    /// <summary>
    /// What loading a program of <paramref name="type"/> needs, following the kernel's checks in BPF_PROG_LOAD:
    /// CAP_BPF for every type, plus CAP_NET_ADMIN for networking types and CAP_PERFMON for tracing types.
    /// </summary>
    public static CapabilityRequirement Required(BpfProgramType type)
    {
        var set = CapabilitySet.Of(Capability.Bpf);
        if (IsNetAdminType(type))
        {
            set = set.With(Capability.NetAdmin);
        }

        if (IsPerfmonType(type))
        {
            set = set.With(Capability.Perfmon);
        }

        return new CapabilityRequirement($"load {type} program", set);
    }

    /// <summary>The capabilities the calling thread lacks for an operation (empty when it may perform it).</summary>
    public static CapabilitySet Missing(BpfOperation operation) => Required(operation).MissingFrom(CapGet().Effective);

    /// <summary>The capabilities the calling thread lacks to load a program of <paramref name="type"/>.</summary>
    public static CapabilitySet Missing(BpfProgramType type) => Required(type).MissingFrom(CapGet().Effective);

    /// <summary>
    /// Lowers the calling thread's effective and permitted sets to <paramref name="keep"/> and clears its inheritable
    /// set. Irreversible for this thread: a dropped capability cannot be raised again. Threads started afterwards from
    /// this thread inherit the lower sets; threads that already exist keep theirs (see <see cref="Capabilities"/>).
    /// The bounding set is left as it is.
    /// </summary>
    /// <param name="keep">The capabilities to keep; each must be in the current permitted set.</param>
    /// <returns>The thread's capability sets after the drop.</returns>
    /// <exception cref="ArgumentException"><paramref name="keep"/> holds capabilities the thread does not have.</exception>
    public static CapabilityState DropTo(CapabilitySet keep)
    {
        var (_, permitted, _) = CapGet();
        var notHeld = keep.Except(permitted);
        if (!notHeld.IsEmpty)
        {
            throw new ArgumentException($"Cannot keep {notHeld}: the calling thread does not hold them (permitted: {permitted}).", nameof(keep));
        }

        var header = new CapHeader { Version = LinuxCapabilityVersion3, Pid = 0 };
        var data = stackalloc CapData[2];
        for (var i = 0; i < 2; i++)
        {
            var word = (uint)(keep.Mask >> (32 * i));
            data[i] = new CapData { Effective = word, Permitted = word, Inheritable = 0 };
        }

        if (Native.Interop.Libc.Syscall5(Numbers.Capset, &header, (long)data, 0, 0, 0) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            ThrowHelper.ThrowKernel("capset", errno, $"lowering the calling thread to {keep}");
        }

        return Current();
    }

    private static (CapabilitySet Effective, CapabilitySet Permitted, CapabilitySet Inheritable) CapGet()
    {
        var header = new CapHeader { Version = LinuxCapabilityVersion3, Pid = 0 };
        var data = stackalloc CapData[2];
        if (Native.Interop.Libc.Syscall5(Numbers.Capget, &header, (long)data, 0, 0, 0) < 0)
        {
            ThrowHelper.ThrowKernel("capget", Marshal.GetLastPInvokeError());
        }

        static ulong Join(uint lo, uint hi) => lo | ((ulong)hi << 32);
        return (new(Join(data[0].Effective, data[1].Effective)), new(Join(data[0].Permitted, data[1].Permitted)), new(Join(data[0].Inheritable, data[1].Inheritable)));
    }

    private static (CapabilitySet Bounding, CapabilitySet Ambient) ReadBoundingAndAmbient(string statusPath)
    {
        CapabilitySet bnd = default, amb = default;
        foreach (var line in File.ReadLines(statusPath))
        {
            if (line.StartsWith("CapBnd:", StringComparison.Ordinal))
            {
                bnd = CapabilitySet.FromHex(line[7..]);
            }
            else if (line.StartsWith("CapAmb:", StringComparison.Ordinal))
            {
                amb = CapabilitySet.FromHex(line[7..]);
            }
        }

        return (bnd, amb);
    }

    // include/uapi/linux/capability.h: _LINUX_CAPABILITY_VERSION_3 takes two data structs (capabilities 0-31, 32-63).
    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    private static bool IsNetAdminType(BpfProgramType type) => type is BpfProgramType.SchedCls or BpfProgramType.SchedAct
        or BpfProgramType.Xdp or BpfProgramType.LwtIn or BpfProgramType.LwtOut or BpfProgramType.LwtXmit
        or BpfProgramType.LwtSeg6Local or BpfProgramType.SkSkb or BpfProgramType.SkMsg or BpfProgramType.LircMode2
        or BpfProgramType.FlowDissector or BpfProgramType.CgroupDevice or BpfProgramType.CgroupSock
        or BpfProgramType.CgroupSockAddr or BpfProgramType.CgroupSockopt or BpfProgramType.CgroupSysctl
        or BpfProgramType.SockOps or BpfProgramType.Ext or BpfProgramType.Netfilter;

    private static bool IsPerfmonType(BpfProgramType type) => type is BpfProgramType.Kprobe or BpfProgramType.Tracepoint
        or BpfProgramType.PerfEvent or BpfProgramType.RawTracepoint or BpfProgramType.RawTracepointWritable
        or BpfProgramType.Tracing or BpfProgramType.Lsm or BpfProgramType.StructOps or BpfProgramType.Ext;

    private static class Numbers
    {
        internal static readonly long Capget = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 125,
            Architecture.Arm64 => 90,
            var a => throw new PlatformNotSupportedException($"capget(2) syscall number unknown for {a}."),
        };

        internal static readonly long Capset = Capget + 1;

        internal static readonly long Gettid = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 186,
            Architecture.Arm64 => 178,
            var a => throw new PlatformNotSupportedException($"gettid(2) syscall number unknown for {a}."),
        };
    }
}
