// bpf(2) link commands: create, update, detach, link info, raw tracepoint open and the TCX program query.
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

public static unsafe partial class Bpf
{
    /// <summary>BPF_F_REPLACE: the link update only happens when the attached program is the expected one.</summary>
    internal const uint BPF_F_REPLACE = 1u << 2;
    internal const uint BPF_F_BEFORE = 1u << 3;
    internal const uint BPF_F_AFTER = 1u << 4;
    internal const uint BPF_F_ID = 1u << 5;
    internal const uint BPF_F_LINK = 1u << 13;

    /// <summary>BPF_LINK_CREATE with the common fields; callers translate errno into errors that name their target.</summary>
    internal static long TryLinkCreate(BpfProgramHandle program, uint target, BpfAttachType attachType, uint flags, out int errno, uint relative = 0, ulong expectedRevision = 0)
    {
        bpf_link_create_attr attr = default;
        attr.prog_fd = (uint)program.Fd;
        attr.target_fd = target;
        attr.attach_type = (uint)attachType;
        attr.flags = flags;
        attr.tcx_relative_fd = relative;
        attr.tcx_expected_revision = expectedRevision;
        long r;
        var attempts = 0;
        do
        {
            r = BpfSyscall.Invoke(BpfCommand.LinkCreate, &attr, out errno);
        }
        while (r < 0 && errno is Errno.EAGAIN or Errno.EINTR && ++attempts < 5);

        return r;
    }

    /// <summary>
    /// BPF_LINK_UPDATE: atomically replaces the link's program. With <paramref name="expectedOld"/>, BPF_F_REPLACE makes it a
    /// compare-and-swap that fails with EPERM when another program is attached.
    /// </summary>
    public static void LinkUpdate(BpfLinkHandle link, BpfProgramHandle newProgram, BpfProgramHandle? expectedOld = null)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(newProgram);
        if (TryLinkUpdate(link, newProgram, expectedOld, out var errno) < 0)
        {
            ThrowHelper.ThrowBpf(BpfCommand.LinkUpdate, errno);
        }
    }

    internal static long TryLinkUpdate(BpfLinkHandle link, BpfProgramHandle newProgram, BpfProgramHandle? expectedOld, out int errno)
    {
        bpf_link_update_attr attr = default;
        attr.link_fd = (uint)link.Fd;
        attr.new_prog_fd = (uint)newProgram.Fd;
        if (expectedOld is not null)
        {
            attr.flags = BPF_F_REPLACE;
            attr.old_prog_fd = (uint)expectedOld.Fd;
        }

        return BpfSyscall.Invoke(BpfCommand.LinkUpdate, &attr, out errno);
    }

    /// <summary>BPF_LINK_DETACH: detaches the link from its target while the descriptor (and any pin) stays valid.</summary>
    public static void LinkDetach(BpfLinkHandle link)
    {
        ArgumentNullException.ThrowIfNull(link);
        if (TryLinkDetach(link, out var errno) < 0)
        {
            ThrowHelper.ThrowBpf(BpfCommand.LinkDetach, errno);
        }
    }

    internal static long TryLinkDetach(BpfLinkHandle link, out int errno)
    {
        bpf_link_detach_attr attr = default;
        attr.link_fd = (uint)link.Fd;
        return BpfSyscall.Invoke(BpfCommand.LinkDetach, &attr, out errno);
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD for a link: type, id, program id and the type's target.</summary>
    public static BpfLinkInfo GetLinkInfo(BpfLinkHandle link)
    {
        ArgumentNullException.ThrowIfNull(link);
        bpf_link_info info = default;
        ObjInfo(link, &info, (uint)sizeof(bpf_link_info));
        var type = (BpfLinkType)info.type;
        var result = new BpfLinkInfo(info.id, type, info.prog_id);
        switch (type)
        {
            case BpfLinkType.Xdp:
                return result with { IfIndex = info.xdp_ifindex };
            case BpfLinkType.Tcx:
                return result with { IfIndex = info.tcx_ifindex, AttachType = (BpfAttachType)info.tcx_attach_type };
            case BpfLinkType.Cgroup:
                return result with { CgroupId = info.cgroup_cgroup_id, AttachType = (BpfAttachType)info.cgroup_attach_type };
            case BpfLinkType.Netns:
                return result with { AttachType = (BpfAttachType)info.netns_attach_type };
            case BpfLinkType.PerfEvent:
                return result with { PerfEventType = (BpfPerfEventType)info.perf_event_type };
            case BpfLinkType.RawTracepoint:
                // The name is copied into a buffer of ours, so it takes a second call that says where it is; the
                // first call must not carry the pointer because other link types read the same bytes differently.
                const int capacity = 256;
                var name = stackalloc byte[capacity];
                bpf_link_info second = default;
                second.raw_tracepoint_tp_name = (ulong)name;
                second.raw_tracepoint_tp_name_len = capacity;
                ObjInfo(link, &second, (uint)sizeof(bpf_link_info));
                return result with { TracepointName = BpfSyscall.ReadName(name, capacity) };
            default:
                return result;
        }
    }

    /// <summary>BPF_RAW_TRACEPOINT_OPEN: attaches a raw tracepoint program; the returned descriptor is a link.</summary>
    public static BpfLinkHandle RawTracepointOpen(BpfProgramHandle program, string tracepoint)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(tracepoint);
        var name = System.Text.Encoding.UTF8.GetBytes(tracepoint + "\0");
        fixed (byte* pn = name)
        {
            bpf_raw_tracepoint_attr attr = default;
            attr.name = (ulong)pn;
            attr.prog_fd = (uint)program.Fd;
            var r = BpfSyscall.Invoke(BpfCommand.RawTracepointOpen, &attr, out var errno);
            if (r < 0)
            {
                ThrowHelper.ThrowBpf(BpfCommand.RawTracepointOpen, errno, errno switch
                {
                    Errno.ENOENT => $"the kernel has no raw tracepoint named '{tracepoint}'",
                    Errno.EINVAL => $"raw tracepoint '{tracepoint}': the program is not a raw tracepoint program",
                    _ => $"raw tracepoint '{tracepoint}'",
                });
            }

            return new BpfLinkHandle((int)r);
        }
    }

    /// <summary>BPF_PROG_QUERY on a device's TCX hook: attached program ids and link ids in run order, and the revision.</summary>
    public static TcxQueryResult QueryTcx(int ifindex, TcxDirection direction)
    {
        if (ifindex <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ifindex), ifindex, "An interface index is positive.");
        }

        var attachType = direction == TcxDirection.Ingress ? BpfAttachType.TcxIngress : BpfAttachType.TcxEgress;
        var capacity = 16u;
        while (true)
        {
            var progs = new uint[capacity];
            var links = new uint[capacity];
            fixed (uint* pp = progs)
            fixed (uint* pl = links)
            {
                bpf_prog_query_attr attr = default;
                attr.target_fd = (uint)ifindex;
                attr.attach_type = (uint)attachType;
                attr.prog_ids = (ulong)pp;
                attr.link_ids = (ulong)pl;
                attr.prog_cnt = capacity;
                var r = BpfSyscall.Invoke(BpfCommand.ProgQuery, &attr, out var errno);
                if (r < 0 && errno == Errno.ENOSPC)
                {
                    // More programs than room: the kernel reports how many there are.
                    capacity = Math.Max(attr.prog_cnt, capacity * 2);
                    continue;
                }

                if (r < 0)
                {
                    ThrowHelper.ThrowBpf(BpfCommand.ProgQuery, errno, errno switch
                    {
                        Errno.ENODEV => $"no device with ifindex {ifindex}",
                        Errno.EINVAL => $"TCX {direction} query on ifindex {ifindex}: the kernel does not know TCX (needs Linux 6.6)",
                        _ => $"TCX {direction} on ifindex {ifindex}",
                    });
                }

                var n = (int)attr.prog_cnt;
                return new TcxQueryResult(progs[..n], links[..n], attr.revision);
            }
        }
    }
}
