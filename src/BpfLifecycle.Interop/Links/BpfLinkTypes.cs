// Value types of the attach API: what the kernel reports of a link, attach modes, directions and TCX options.
namespace BpfLifecycle.Interop;

/// <summary>What kind of perf event a perf-event link is attached through (<c>enum bpf_perf_event_type</c>).</summary>
public enum BpfPerfEventType : uint
{
    /// <summary>BPF_PERF_EVENT_UNSPEC</summary>
    Unspec = 0,
    /// <summary>BPF_PERF_EVENT_UPROBE</summary>
    Uprobe = 1,
    /// <summary>BPF_PERF_EVENT_URETPROBE</summary>
    Uretprobe = 2,
    /// <summary>BPF_PERF_EVENT_KPROBE</summary>
    Kprobe = 3,
    /// <summary>BPF_PERF_EVENT_KRETPROBE</summary>
    Kretprobe = 4,
    /// <summary>BPF_PERF_EVENT_TRACEPOINT</summary>
    Tracepoint = 5,
    /// <summary>BPF_PERF_EVENT_EVENT</summary>
    Event = 6,
}

/// <summary>What the kernel reports of a link (BPF_OBJ_GET_INFO_BY_FD). Type-specific members are null for other types.</summary>
/// <param name="Id">Kernel link id.</param>
/// <param name="Type">Link type.</param>
/// <param name="ProgramId">Id of the attached program; 0 once the link is detached.</param>
public sealed record BpfLinkInfo(uint Id, BpfLinkType Type, uint ProgramId)
{
    /// <summary>Device of an XDP or TCX link (0 once detached).</summary>
    public uint? IfIndex { get; init; }

    /// <summary>Attach type of a TCX, cgroup or network-namespace link.</summary>
    public BpfAttachType? AttachType { get; init; }

    /// <summary>Cgroup id (the inode number of the cgroup v2 directory) of a cgroup link.</summary>
    public ulong? CgroupId { get; init; }

    /// <summary>Tracepoint name of a raw tracepoint link.</summary>
    public string? TracepointName { get; init; }

    /// <summary>Kind of perf event behind a perf-event link (tracepoint, uprobe, ...).</summary>
    public BpfPerfEventType? PerfEventType { get; init; }

    /// <summary>Whether the link is still attached, judged by the kernel's report (a detached link keeps its id but loses its target).</summary>
    public bool IsAttached => ProgramId != 0 && IfIndex is null or not 0 && CgroupId is null or not 0;
}

/// <summary>How an XDP program is attached to a device (<c>XDP_FLAGS_*_MODE</c>).</summary>
public enum XdpAttachMode : uint
{
    /// <summary>No mode flag: the kernel uses the driver (native) hook when the driver has one, else generic.</summary>
    Auto = 0,
    /// <summary>XDP_FLAGS_SKB_MODE: generic XDP in the network stack, works on every device, slower.</summary>
    Generic = 2,
    /// <summary>XDP_FLAGS_DRV_MODE: native XDP in the driver; fails when the driver has no XDP support.</summary>
    Native = 4,
    /// <summary>XDP_FLAGS_HW_MODE: offloaded to the NIC.</summary>
    Offload = 8,
}

/// <summary>The TCX hook of a device: ingress (BPF_TCX_INGRESS) or egress (BPF_TCX_EGRESS).</summary>
public enum TcxDirection
{
    /// <summary>Packets the device receives.</summary>
    Ingress,
    /// <summary>Packets the device sends.</summary>
    Egress,
}

/// <summary>The direction a cgroup skb program sees (BPF_CGROUP_INET_INGRESS or BPF_CGROUP_INET_EGRESS).</summary>
public enum CgroupSkbDirection
{
    /// <summary>Packets delivered to sockets of the cgroup.</summary>
    Ingress,
    /// <summary>Packets sent by sockets of the cgroup.</summary>
    Egress,
}

/// <summary>Where a TCX program goes among the programs already on the hook.</summary>
public enum TcxPosition
{
    /// <summary>Appended at the end (the default).</summary>
    End,
    /// <summary>Before the anchor, or first when there is no anchor (BPF_F_BEFORE).</summary>
    Before,
    /// <summary>After the anchor, or last when there is no anchor (BPF_F_AFTER).</summary>
    After,
}

/// <summary>Optional placement of a TCX link relative to other programs, and an optimistic-concurrency revision.</summary>
public sealed class TcxAttachOptions
{
    /// <summary>Before or after the anchor (or first/last when no anchor is given).</summary>
    public TcxPosition Position { get; init; }

    /// <summary>Anchor: an attached program, by descriptor.</summary>
    public BpfProgramHandle? RelativeProgram { get; init; }

    /// <summary>Anchor: an attached link.</summary>
    public BpfLink? RelativeLink { get; init; }

    /// <summary>Anchor: an attached program, by id.</summary>
    public uint? RelativeProgramId { get; init; }

    /// <summary>Anchor: an attached link, by id.</summary>
    public uint? RelativeLinkId { get; init; }

    /// <summary>When non-zero, the attach fails with ESTALE unless the hook is still at this revision (see <see cref="Bpf.QueryTcx"/>).</summary>
    public ulong ExpectedRevision { get; init; }
}

/// <summary>The programs on a TCX hook, in run order, and the hook's revision (bumped by every change).</summary>
/// <param name="ProgramIds">Attached program ids in run order.</param>
/// <param name="LinkIds">Link id of each program (0 for one attached without a link), parallel to <paramref name="ProgramIds"/>.</param>
/// <param name="Revision">The hook's revision.</param>
public sealed record TcxQueryResult(IReadOnlyList<uint> ProgramIds, IReadOnlyList<uint> LinkIds, ulong Revision);
