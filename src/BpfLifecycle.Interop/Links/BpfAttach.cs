// Attaching programs to kernel hooks: XDP, TCX, tracepoints, raw tracepoints, uprobes, kprobes, cgroup skb and sockets.
using System.Net.Sockets;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>
/// Attaches programs to hooks. Every method except <see cref="SocketFilter"/> returns a <see cref="BpfLink"/>, which can be
/// pinned, reopened, updated atomically and detached.
/// </summary>
public static unsafe class BpfAttach
{
    /// <summary>Attaches an XDP program to a device of the current network namespace through a link (BPF_LINK_CREATE, BPF_XDP).</summary>
    /// <exception cref="BpfAttachConflictException">The device already has an XDP program attached.</exception>
    public static BpfLink Xdp(BpfProgramHandle program, int ifindex, XdpAttachMode mode = XdpAttachMode.Auto)
    {
        ArgumentNullException.ThrowIfNull(program);
        RequireIfIndex(ifindex);
        var target = $"XDP ({mode}) on {NetworkInterfaces.Describe((uint)ifindex)}";
        if (Bpf.TryLinkCreate(program, (uint)ifindex, BpfAttachType.Xdp, (uint)mode, out var errno) is var r && r >= 0)
        {
            return new BpfLink(new BpfLinkHandle((int)r), target);
        }

        throw errno switch
        {
            Errno.EBUSY => new BpfAttachConflictException(BpfCommand.LinkCreate, errno, target, $"device {NetworkInterfaces.Describe((uint)ifindex)} already has an XDP program attached; update that link instead of attaching a second one"),
            Errno.EEXIST => new BpfAttachConflictException(BpfCommand.LinkCreate, errno, target, $"device {NetworkInterfaces.Describe((uint)ifindex)} already has an XDP program attached in another mode"),
            Errno.ENODEV => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: no such device in this network namespace"),
            Errno.EOPNOTSUPP => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: the driver does not support this XDP mode"),
            Errno.EINVAL => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: the program is not an XDP program, or the mode is invalid"),
            _ => new BpfException(BpfCommand.LinkCreate, errno, target),
        };
    }

    /// <summary>Attaches an XDP program to the device named <paramref name="ifname"/> in the current network namespace.</summary>
    public static BpfLink Xdp(BpfProgramHandle program, string ifname, XdpAttachMode mode = XdpAttachMode.Auto)
        => Xdp(program, NetworkInterfaces.IndexOf(ifname), mode);

    /// <summary>Attaches a SCHED_CLS program to a device's TCX ingress or egress hook (BPF_TCX_INGRESS/EGRESS, link type TCX).</summary>
    public static BpfLink Tcx(BpfProgramHandle program, int ifindex, TcxDirection direction, TcxAttachOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        RequireIfIndex(ifindex);
        options ??= new TcxAttachOptions();
        var attachType = direction == TcxDirection.Ingress ? BpfAttachType.TcxIngress : BpfAttachType.TcxEgress;
        var target = $"TCX {direction.ToString().ToLowerInvariant()} on {NetworkInterfaces.Describe((uint)ifindex)}";
        var flags = options.Position switch
        {
            TcxPosition.Before => Bpf.BPF_F_BEFORE,
            TcxPosition.After => Bpf.BPF_F_AFTER,
            _ => 0u,
        };
        var anchors = (options.RelativeProgram is null ? 0 : 1) + (options.RelativeLink is null ? 0 : 1) + (options.RelativeProgramId is null ? 0 : 1) + (options.RelativeLinkId is null ? 0 : 1);
        if (anchors > 1)
        {
            throw new ArgumentException("Give at most one TCX anchor (program, link, program id or link id).", nameof(options));
        }

        if (anchors == 1 && options.Position == TcxPosition.End)
        {
            throw new ArgumentException("A TCX anchor needs Position Before or After.", nameof(options));
        }

        var addRef = false;
        SafeHandle? anchorHandle = options.RelativeProgram ?? (SafeHandle?)options.RelativeLink?.Handle;
        try
        {
            uint relative = 0;
            if (anchorHandle is not null)
            {
                anchorHandle.DangerousAddRef(ref addRef);
                relative = (uint)anchorHandle.DangerousGetHandle();
                flags |= options.RelativeLink is null ? 0 : Bpf.BPF_F_LINK;
            }
            else if (options.RelativeProgramId is { } pid)
            {
                relative = pid;
                flags |= Bpf.BPF_F_ID;
            }
            else if (options.RelativeLinkId is { } lid)
            {
                relative = lid;
                flags |= Bpf.BPF_F_ID | Bpf.BPF_F_LINK;
            }

            if (Bpf.TryLinkCreate(program, (uint)ifindex, attachType, flags, out var errno, relative, options.ExpectedRevision) is var r && r >= 0)
            {
                return new BpfLink(new BpfLinkHandle((int)r), target);
            }

            throw errno switch
            {
                116 => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: the hook changed since revision {options.ExpectedRevision}; query it again"),
                Errno.ENOENT => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: the anchor is not attached to this hook"),
                Errno.EEXIST => new BpfAttachConflictException(BpfCommand.LinkCreate, errno, target, $"{target}: the program is already attached to this hook"),
                Errno.ENODEV => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: no such device in this network namespace"),
                Errno.EINVAL => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: the program is not a SCHED_CLS program, or the kernel lacks TCX (Linux 6.6+)"),
                _ => new BpfException(BpfCommand.LinkCreate, errno, target),
            };
        }
        finally
        {
            if (addRef)
            {
                anchorHandle!.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Attaches a TRACEPOINT program to tracepoint <paramref name="category"/>/<paramref name="name"/>: opens a perf event on
    /// the tracepoint (id from tracefs) and links the program to it (BPF_PERF_EVENT). The link owns the perf event.
    /// </summary>
    public static BpfLink Tracepoint(BpfProgramHandle program, string category, string name)
    {
        ArgumentNullException.ThrowIfNull(program);
        var id = PerfEvents.TracepointId(category, name);
        perf_event_attr attr = default;
        attr.type = Interop.Native.Interop.Perf.PERF_TYPE_TRACEPOINT;
        attr.config = id;
        return LinkPerfEvent(program, ref attr, -1, $"tracepoint {category}/{name}");
    }

    /// <summary>Attaches a RAW_TRACEPOINT program to raw tracepoint <paramref name="name"/> (BPF_RAW_TRACEPOINT_OPEN), e.g. <c>sys_enter</c>.</summary>
    public static BpfLink RawTracepoint(BpfProgramHandle program, string name)
        => new(Bpf.RawTracepointOpen(program, name), $"raw tracepoint {name}");

    /// <summary>Attaches a KPROBE-type program as a uprobe (or uretprobe) on function <paramref name="symbol"/> of an ELF binary.</summary>
    /// <param name="program">A BPF_PROG_TYPE_KPROBE program.</param>
    /// <param name="binaryPath">Executable or shared library.</param>
    /// <param name="symbol">Function name, looked up in .symtab and .dynsym.</param>
    /// <param name="retprobe">Fire on return instead of entry.</param>
    /// <param name="pid">Only this process, or null for every process mapping the file.</param>
    public static BpfLink Uprobe(BpfProgramHandle program, string binaryPath, string symbol, bool retprobe = false, int? pid = null)
    {
        var offset = ElfSymbols.FindFunctionOffset(binaryPath, symbol);
        return Uprobe(program, binaryPath, offset, retprobe, pid, $"{symbol} in {binaryPath}");
    }

    /// <summary>Attaches a KPROBE-type program as a uprobe (or uretprobe) at file offset <paramref name="offset"/> of an ELF binary.</summary>
    public static BpfLink Uprobe(BpfProgramHandle program, string binaryPath, ulong offset, bool retprobe = false, int? pid = null)
        => Uprobe(program, binaryPath, offset, retprobe, pid, $"offset 0x{offset:x} in {binaryPath}");

    private static BpfLink Uprobe(BpfProgramHandle program, string binaryPath, ulong offset, bool retprobe, int? pid, string what)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(binaryPath);
        if (!File.Exists(binaryPath))
        {
            throw new ArgumentException($"'{binaryPath}' does not exist.", nameof(binaryPath));
        }

        var type = PerfEvents.PmuType("uprobe") ?? throw new BpfFeatureNotSupportedException("uprobe PMU", "/sys/bus/event_source/devices/uprobe/type is missing (CONFIG_UPROBE_EVENTS off)");
        var path = System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(binaryPath) + "\0");
        fixed (byte* pp = path)
        {
            perf_event_attr attr = default;
            attr.type = (uint)type;
            attr.config = retprobe ? 1UL << PerfEvents.RetprobeBit("uprobe") : 0;
            attr.config1 = (ulong)pp;
            attr.config2 = offset;
            return LinkPerfEvent(program, ref attr, pid ?? -1, $"{(retprobe ? "uretprobe" : "uprobe")} on {what}");
        }
    }

    /// <summary>
    /// Attaches a KPROBE program to kernel function <paramref name="symbol"/> through the kprobe PMU. Kernels built without
    /// kprobes (no <c>/sys/bus/event_source/devices/kprobe</c>) get <see cref="BpfFeatureNotSupportedException"/> naming
    /// <c>kprobe PMU</c>, found by a cached probe before anything is opened.
    /// </summary>
    public static BpfLink Kprobe(BpfProgramHandle program, string symbol, bool retprobe = false, ulong offset = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        var type = PerfEvents.PmuType("kprobe") ?? throw new BpfFeatureNotSupportedException("kprobe PMU", $"/sys/bus/event_source/devices/kprobe/type is missing (kernel built without CONFIG_KPROBES), so '{symbol}' cannot be probed");
        var name = System.Text.Encoding.UTF8.GetBytes(symbol + "\0");
        fixed (byte* pn = name)
        {
            perf_event_attr attr = default;
            attr.type = (uint)type;
            attr.config = retprobe ? 1UL << PerfEvents.RetprobeBit("kprobe") : 0;
            attr.config1 = (ulong)pn;
            attr.config2 = offset;
            return LinkPerfEvent(program, ref attr, -1, $"{(retprobe ? "kretprobe" : "kprobe")} on {symbol}+{offset}");
        }
    }

    /// <summary>Attaches a CGROUP_SKB program to a cgroup v2 directory (BPF_LINK_CREATE with BPF_CGROUP_INET_INGRESS/EGRESS).</summary>
    /// <param name="program">A CGROUP_SKB program loaded with the matching expected attach type.</param>
    /// <param name="cgroupPath">A directory of the cgroup v2 hierarchy.</param>
    /// <param name="direction">Ingress or egress.</param>
    public static BpfLink CgroupSkb(BpfProgramHandle program, string cgroupPath, CgroupSkbDirection direction)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(cgroupPath);
        var attachType = direction == CgroupSkbDirection.Ingress ? BpfAttachType.CgroupInetIngress : BpfAttachType.CgroupInetEgress;
        var target = $"cgroup skb {direction.ToString().ToLowerInvariant()} on {cgroupPath}";
        var fd = Interop.Native.Interop.FileSystem.Open(cgroupPath, Interop.Native.Interop.FileSystem.O_RDONLY | Interop.Native.Interop.FileSystem.O_DIRECTORY | Interop.Native.Interop.FileSystem.O_CLOEXEC);
        if (fd < 0)
        {
            var e = Marshal.GetLastPInvokeError();
            ThrowHelper.ThrowKernel("open", e, $"cgroup '{cgroupPath}': {Errno.Describe(e)}");
        }

        try
        {
            if (Bpf.TryLinkCreate(program, (uint)fd, attachType, 0, out var errno) is var r && r >= 0)
            {
                return new BpfLink(new BpfLinkHandle((int)r), target);
            }

            throw errno switch
            {
                Errno.EBADF => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: '{cgroupPath}' is not a cgroup v2 directory"),
                Errno.EINVAL => new BpfException(BpfCommand.LinkCreate, errno, $"{target}: the program is not a CGROUP_SKB program loaded with expected attach type {attachType}"),
                _ => new BpfException(BpfCommand.LinkCreate, errno, target),
            };
        }
        finally
        {
            // The link holds its own reference to the cgroup.
            Interop.Native.Interop.Libc.Close(fd);
        }
    }

    /// <summary>
    /// Attaches a SOCKET_FILTER program to a socket (setsockopt SO_ATTACH_BPF). This is not a kernel link: it cannot be
    /// pinned or updated, and lasts until the returned attachment is disposed (SO_DETACH_BPF) or the socket is closed.
    /// </summary>
    public static BpfSocketFilter SocketFilter(BpfProgramHandle program, Socket socket)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(socket);
        var addRef = false;
        var sock = socket.SafeHandle;
        try
        {
            sock.DangerousAddRef(ref addRef);
            var progFd = program.Fd;
            if (Interop.Native.Interop.Libc.SetSockOpt((int)sock.DangerousGetHandle(), Interop.Native.Interop.Net.SOL_SOCKET, Interop.Native.Interop.Net.SO_ATTACH_BPF, &progFd, sizeof(int)) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                ThrowHelper.ThrowKernel("setsockopt(SO_ATTACH_BPF)", errno, errno == Errno.EINVAL ? "the program is not a SOCKET_FILTER program" : null);
            }
        }
        finally
        {
            if (addRef)
            {
                sock.DangerousRelease();
            }
        }

        return new BpfSocketFilter(socket);
    }

    private static BpfLink LinkPerfEvent(BpfProgramHandle program, ref perf_event_attr attr, int pid, string what)
    {
        var perf = PerfEvents.Open(ref attr, pid, what);
        try
        {
            if (Bpf.TryLinkCreate(program, (uint)perf.Fd, BpfAttachType.PerfEvent, 0, out var errno) is var r && r >= 0)
            {
                return new BpfLink(new BpfLinkHandle((int)r), what, perf);
            }

            throw errno switch
            {
                Errno.EINVAL => new BpfException(BpfCommand.LinkCreate, errno, $"{what}: the program type does not match the event (tracepoints need TRACEPOINT programs, probes KPROBE programs)"),
                Errno.EEXIST => new BpfAttachConflictException(BpfCommand.LinkCreate, errno, what, $"{what}: the perf event already has a program"),
                _ => new BpfException(BpfCommand.LinkCreate, errno, what),
            };
        }
        catch
        {
            perf.Dispose();
            throw;
        }
    }

    private static void RequireIfIndex(int ifindex)
    {
        if (ifindex <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ifindex), ifindex, "An interface index is positive.");
        }
    }
}
