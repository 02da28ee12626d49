// perf_event_open(2) and its attribute struct: tracepoints, uprobes and kprobes reach BPF through a perf event.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Interop.Native;

#pragma warning disable CA1823, IDE0044, IDE1006 // ABI field names and padding

/// <summary>struct perf_event_attr (PERF_ATTR_SIZE_VER8, 136 bytes); the kernel accepts any size it knows.</summary>
[StructLayout(LayoutKind.Explicit, Size = 136)]
internal struct perf_event_attr
{
    [FieldOffset(0)] public uint type;
    [FieldOffset(4)] public uint size;
    [FieldOffset(8)] public ulong config;
    [FieldOffset(16)] public ulong sample_period;
    [FieldOffset(24)] public ulong sample_type;
    [FieldOffset(32)] public ulong read_format;
    /// <summary>The bit field word (disabled, inherit, pinned, ...).</summary>
    [FieldOffset(40)] public ulong flags;
    [FieldOffset(48)] public uint wakeup_events;
    [FieldOffset(52)] public uint bp_type;
    /// <summary>config1: uprobe_path / kprobe_func (a user pointer to a NUL-terminated string).</summary>
    [FieldOffset(56)] public ulong config1;
    /// <summary>config2: probe_offset / kprobe_addr.</summary>
    [FieldOffset(64)] public ulong config2;
    [FieldOffset(72)] public ulong branch_sample_type;
    [FieldOffset(80)] public ulong sample_regs_user;
    [FieldOffset(88)] public uint sample_stack_user;
    [FieldOffset(92)] public int clockid;
    [FieldOffset(96)] public ulong sample_regs_intr;
    [FieldOffset(104)] public uint aux_watermark;
    [FieldOffset(108)] public ushort sample_max_stack;
    [FieldOffset(112)] public uint aux_sample_size;
    [FieldOffset(120)] public ulong sig_data;
    [FieldOffset(128)] public ulong config3;
}

internal static unsafe partial class Interop
{
    internal static partial class Perf
    {
        internal const uint PERF_TYPE_TRACEPOINT = 2;
        internal const ulong PERF_FLAG_FD_CLOEXEC = 8;
        /// <summary>_IO('$', 0): PERF_EVENT_IOC_ENABLE.</summary>
        internal const nuint PERF_EVENT_IOC_ENABLE = 0x2400;

        /// <summary>perf_event_open(2); returns the new descriptor or -1 with errno set.</summary>
        internal static int Open(perf_event_attr* attr, int pid, int cpu, int groupFd, ulong flags)
            => (int)Libc.Syscall5(SyscallNumbers.PerfEventOpen, attr, pid, cpu, groupFd, (long)flags);
    }

    internal static partial class FileSystem
    {
        internal const int O_RDONLY = 0;
        internal const int O_DIRECTORY = 0x10000;
        internal const int O_CLOEXEC = 0x80000;

        /// <summary>open(2), for descriptors .NET cannot give (directories such as a cgroup).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags);
    }
}

internal static unsafe partial class Interop
{
    internal static partial class Net
    {
        internal const int SOL_SOCKET = 1;
        internal const int SO_DETACH_BPF = 27;
        internal const int SO_ATTACH_BPF = 50;
        internal const int IF_NAMESIZE = 16;

        [LibraryImport(Libraries.Libc, EntryPoint = "if_indextoname", SetLastError = true)]
        internal static partial byte* IfIndexToName(uint ifindex, byte* name);
    }
}
