// Kernel ABI enumerations (include/uapi/linux/bpf.h), numbered as the running kernel numbers them.
namespace BpfLifecycle.Interop;

/// <summary>The <c>cmd</c> argument of bpf(2).</summary>
public enum BpfCommand
{
    /// <summary>BPF_MAP_CREATE</summary>
    MapCreate = 0,
    /// <summary>BPF_MAP_LOOKUP_ELEM</summary>
    MapLookupElem = 1,
    /// <summary>BPF_MAP_UPDATE_ELEM</summary>
    MapUpdateElem = 2,
    /// <summary>BPF_MAP_DELETE_ELEM</summary>
    MapDeleteElem = 3,
    /// <summary>BPF_MAP_GET_NEXT_KEY</summary>
    MapGetNextKey = 4,
    /// <summary>BPF_PROG_LOAD</summary>
    ProgLoad = 5,
    /// <summary>BPF_OBJ_PIN</summary>
    ObjPin = 6,
    /// <summary>BPF_OBJ_GET</summary>
    ObjGet = 7,
    /// <summary>BPF_PROG_ATTACH</summary>
    ProgAttach = 8,
    /// <summary>BPF_PROG_DETACH</summary>
    ProgDetach = 9,
    /// <summary>BPF_PROG_TEST_RUN</summary>
    ProgTestRun = 10,
    /// <summary>BPF_PROG_GET_NEXT_ID</summary>
    ProgGetNextId = 11,
    /// <summary>BPF_MAP_GET_NEXT_ID</summary>
    MapGetNextId = 12,
    /// <summary>BPF_PROG_GET_FD_BY_ID</summary>
    ProgGetFdById = 13,
    /// <summary>BPF_MAP_GET_FD_BY_ID</summary>
    MapGetFdById = 14,
    /// <summary>BPF_OBJ_GET_INFO_BY_FD</summary>
    ObjGetInfoByFd = 15,
    /// <summary>BPF_PROG_QUERY</summary>
    ProgQuery = 16,
    /// <summary>BPF_RAW_TRACEPOINT_OPEN</summary>
    RawTracepointOpen = 17,
    /// <summary>BPF_BTF_LOAD</summary>
    BtfLoad = 18,
    /// <summary>BPF_BTF_GET_FD_BY_ID</summary>
    BtfGetFdById = 19,
    /// <summary>BPF_TASK_FD_QUERY</summary>
    TaskFdQuery = 20,
    /// <summary>BPF_MAP_LOOKUP_AND_DELETE_ELEM</summary>
    MapLookupAndDeleteElem = 21,
    /// <summary>BPF_MAP_FREEZE</summary>
    MapFreeze = 22,
    /// <summary>BPF_BTF_GET_NEXT_ID</summary>
    BtfGetNextId = 23,
    /// <summary>BPF_MAP_LOOKUP_BATCH</summary>
    MapLookupBatch = 24,
    /// <summary>BPF_MAP_LOOKUP_AND_DELETE_BATCH</summary>
    MapLookupAndDeleteBatch = 25,
    /// <summary>BPF_MAP_UPDATE_BATCH</summary>
    MapUpdateBatch = 26,
    /// <summary>BPF_MAP_DELETE_BATCH</summary>
    MapDeleteBatch = 27,
    /// <summary>BPF_LINK_CREATE</summary>
    LinkCreate = 28,
    /// <summary>BPF_LINK_UPDATE</summary>
    LinkUpdate = 29,
    /// <summary>BPF_LINK_GET_FD_BY_ID</summary>
    LinkGetFdById = 30,
    /// <summary>BPF_LINK_GET_NEXT_ID</summary>
    LinkGetNextId = 31,
    /// <summary>BPF_ENABLE_STATS</summary>
    EnableStats = 32,
    /// <summary>BPF_ITER_CREATE</summary>
    IterCreate = 33,
    /// <summary>BPF_LINK_DETACH</summary>
    LinkDetach = 34,
    /// <summary>BPF_PROG_BIND_MAP</summary>
    ProgBindMap = 35,
    /// <summary>BPF_TOKEN_CREATE</summary>
    TokenCreate = 36,
}

/// <summary>Kernel map types (<c>enum bpf_map_type</c>).</summary>
public enum BpfMapType : uint
{
    /// <summary>BPF_MAP_TYPE_UNSPEC</summary>
    Unspec = 0,
    /// <summary>BPF_MAP_TYPE_HASH</summary>
    Hash = 1,
    /// <summary>BPF_MAP_TYPE_ARRAY</summary>
    Array = 2,
    /// <summary>BPF_MAP_TYPE_PROG_ARRAY</summary>
    ProgArray = 3,
    /// <summary>BPF_MAP_TYPE_PERF_EVENT_ARRAY</summary>
    PerfEventArray = 4,
    /// <summary>BPF_MAP_TYPE_PERCPU_HASH</summary>
    PerCpuHash = 5,
    /// <summary>BPF_MAP_TYPE_PERCPU_ARRAY</summary>
    PerCpuArray = 6,
    /// <summary>BPF_MAP_TYPE_STACK_TRACE</summary>
    StackTrace = 7,
    /// <summary>BPF_MAP_TYPE_CGROUP_ARRAY</summary>
    CgroupArray = 8,
    /// <summary>BPF_MAP_TYPE_LRU_HASH</summary>
    LruHash = 9,
    /// <summary>BPF_MAP_TYPE_LRU_PERCPU_HASH</summary>
    LruPerCpuHash = 10,
    /// <summary>BPF_MAP_TYPE_LPM_TRIE</summary>
    LpmTrie = 11,
    /// <summary>BPF_MAP_TYPE_ARRAY_OF_MAPS</summary>
    ArrayOfMaps = 12,
    /// <summary>BPF_MAP_TYPE_HASH_OF_MAPS</summary>
    HashOfMaps = 13,
    /// <summary>BPF_MAP_TYPE_DEVMAP</summary>
    DevMap = 14,
    /// <summary>BPF_MAP_TYPE_SOCKMAP</summary>
    SockMap = 15,
    /// <summary>BPF_MAP_TYPE_CPUMAP</summary>
    CpuMap = 16,
    /// <summary>BPF_MAP_TYPE_XSKMAP</summary>
    XskMap = 17,
    /// <summary>BPF_MAP_TYPE_SOCKHASH</summary>
    SockHash = 18,
    /// <summary>BPF_MAP_TYPE_CGROUP_STORAGE</summary>
    CgroupStorage = 19,
    /// <summary>BPF_MAP_TYPE_REUSEPORT_SOCKARRAY</summary>
    ReuseportSockArray = 20,
    /// <summary>BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE</summary>
    PerCpuCgroupStorage = 21,
    /// <summary>BPF_MAP_TYPE_QUEUE</summary>
    Queue = 22,
    /// <summary>BPF_MAP_TYPE_STACK</summary>
    Stack = 23,
    /// <summary>BPF_MAP_TYPE_SK_STORAGE</summary>
    SkStorage = 24,
    /// <summary>BPF_MAP_TYPE_DEVMAP_HASH</summary>
    DevMapHash = 25,
    /// <summary>BPF_MAP_TYPE_STRUCT_OPS</summary>
    StructOps = 26,
    /// <summary>BPF_MAP_TYPE_RINGBUF</summary>
    RingBuf = 27,
    /// <summary>BPF_MAP_TYPE_INODE_STORAGE</summary>
    InodeStorage = 28,
    /// <summary>BPF_MAP_TYPE_TASK_STORAGE</summary>
    TaskStorage = 29,
    /// <summary>BPF_MAP_TYPE_BLOOM_FILTER</summary>
    BloomFilter = 30,
    /// <summary>BPF_MAP_TYPE_USER_RINGBUF</summary>
    UserRingBuf = 31,
    /// <summary>BPF_MAP_TYPE_CGRP_STORAGE</summary>
    CgrpStorage = 32,
    /// <summary>BPF_MAP_TYPE_ARENA</summary>
    Arena = 33,
}

/// <summary>Kernel program types (<c>enum bpf_prog_type</c>).</summary>
public enum BpfProgramType : uint
{
    /// <summary>BPF_PROG_TYPE_UNSPEC</summary>
    Unspec = 0,
    /// <summary>BPF_PROG_TYPE_SOCKET_FILTER</summary>
    SocketFilter = 1,
    /// <summary>BPF_PROG_TYPE_KPROBE (also uprobes)</summary>
    Kprobe = 2,
    /// <summary>BPF_PROG_TYPE_SCHED_CLS (tc and tcx)</summary>
    SchedCls = 3,
    /// <summary>BPF_PROG_TYPE_SCHED_ACT</summary>
    SchedAct = 4,
    /// <summary>BPF_PROG_TYPE_TRACEPOINT</summary>
    Tracepoint = 5,
    /// <summary>BPF_PROG_TYPE_XDP</summary>
    Xdp = 6,
    /// <summary>BPF_PROG_TYPE_PERF_EVENT</summary>
    PerfEvent = 7,
    /// <summary>BPF_PROG_TYPE_CGROUP_SKB</summary>
    CgroupSkb = 8,
    /// <summary>BPF_PROG_TYPE_CGROUP_SOCK</summary>
    CgroupSock = 9,
    /// <summary>BPF_PROG_TYPE_LWT_IN</summary>
    LwtIn = 10,
    /// <summary>BPF_PROG_TYPE_LWT_OUT</summary>
    LwtOut = 11,
    /// <summary>BPF_PROG_TYPE_LWT_XMIT</summary>
    LwtXmit = 12,
    /// <summary>BPF_PROG_TYPE_SOCK_OPS</summary>
    SockOps = 13,
    /// <summary>BPF_PROG_TYPE_SK_SKB</summary>
    SkSkb = 14,
    /// <summary>BPF_PROG_TYPE_CGROUP_DEVICE</summary>
    CgroupDevice = 15,
    /// <summary>BPF_PROG_TYPE_SK_MSG</summary>
    SkMsg = 16,
    /// <summary>BPF_PROG_TYPE_RAW_TRACEPOINT</summary>
    RawTracepoint = 17,
    /// <summary>BPF_PROG_TYPE_CGROUP_SOCK_ADDR</summary>
    CgroupSockAddr = 18,
    /// <summary>BPF_PROG_TYPE_LWT_SEG6LOCAL</summary>
    LwtSeg6Local = 19,
    /// <summary>BPF_PROG_TYPE_LIRC_MODE2</summary>
    LircMode2 = 20,
    /// <summary>BPF_PROG_TYPE_SK_REUSEPORT</summary>
    SkReuseport = 21,
    /// <summary>BPF_PROG_TYPE_FLOW_DISSECTOR</summary>
    FlowDissector = 22,
    /// <summary>BPF_PROG_TYPE_CGROUP_SYSCTL</summary>
    CgroupSysctl = 23,
    /// <summary>BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE</summary>
    RawTracepointWritable = 24,
    /// <summary>BPF_PROG_TYPE_CGROUP_SOCKOPT</summary>
    CgroupSockopt = 25,
    /// <summary>BPF_PROG_TYPE_TRACING (fentry/fexit)</summary>
    Tracing = 26,
    /// <summary>BPF_PROG_TYPE_STRUCT_OPS</summary>
    StructOps = 27,
    /// <summary>BPF_PROG_TYPE_EXT (freplace)</summary>
    Ext = 28,
    /// <summary>BPF_PROG_TYPE_LSM</summary>
    Lsm = 29,
    /// <summary>BPF_PROG_TYPE_SK_LOOKUP</summary>
    SkLookup = 30,
    /// <summary>BPF_PROG_TYPE_SYSCALL</summary>
    Syscall = 31,
    /// <summary>BPF_PROG_TYPE_NETFILTER</summary>
    Netfilter = 32,
}

/// <summary>Kernel attach types (<c>enum bpf_attach_type</c>).</summary>
public enum BpfAttachType : uint
{
    /// <summary>BPF_CGROUP_INET_INGRESS</summary>
    CgroupInetIngress = 0,
    /// <summary>BPF_CGROUP_INET_EGRESS</summary>
    CgroupInetEgress = 1,
    /// <summary>BPF_CGROUP_INET_SOCK_CREATE</summary>
    CgroupInetSockCreate = 2,
    /// <summary>BPF_CGROUP_SOCK_OPS</summary>
    CgroupSockOps = 3,
    /// <summary>BPF_TRACE_RAW_TP</summary>
    TraceRawTp = 23,
    /// <summary>BPF_TRACE_FENTRY</summary>
    TraceFentry = 24,
    /// <summary>BPF_TRACE_FEXIT</summary>
    TraceFexit = 25,
    /// <summary>BPF_LSM_MAC</summary>
    LsmMac = 27,
    /// <summary>BPF_XDP</summary>
    Xdp = 37,
    /// <summary>BPF_PERF_EVENT</summary>
    PerfEvent = 41,
    /// <summary>BPF_TRACE_KPROBE_MULTI</summary>
    TraceKprobeMulti = 42,
    /// <summary>BPF_NETFILTER</summary>
    Netfilter = 45,
    /// <summary>BPF_TCX_INGRESS</summary>
    TcxIngress = 46,
    /// <summary>BPF_TCX_EGRESS</summary>
    TcxEgress = 47,
    /// <summary>BPF_TRACE_UPROBE_MULTI</summary>
    TraceUprobeMulti = 48,
}

/// <summary>Kernel link types (<c>enum bpf_link_type</c>).</summary>
public enum BpfLinkType : uint
{
    /// <summary>BPF_LINK_TYPE_UNSPEC</summary>
    Unspec = 0,
    /// <summary>BPF_LINK_TYPE_RAW_TRACEPOINT</summary>
    RawTracepoint = 1,
    /// <summary>BPF_LINK_TYPE_TRACING</summary>
    Tracing = 2,
    /// <summary>BPF_LINK_TYPE_CGROUP</summary>
    Cgroup = 3,
    /// <summary>BPF_LINK_TYPE_ITER</summary>
    Iter = 4,
    /// <summary>BPF_LINK_TYPE_NETNS</summary>
    Netns = 5,
    /// <summary>BPF_LINK_TYPE_XDP</summary>
    Xdp = 6,
    /// <summary>BPF_LINK_TYPE_PERF_EVENT</summary>
    PerfEvent = 7,
    /// <summary>BPF_LINK_TYPE_KPROBE_MULTI</summary>
    KprobeMulti = 8,
    /// <summary>BPF_LINK_TYPE_STRUCT_OPS</summary>
    StructOps = 9,
    /// <summary>BPF_LINK_TYPE_NETFILTER</summary>
    Netfilter = 10,
    /// <summary>BPF_LINK_TYPE_TCX</summary>
    Tcx = 11,
    /// <summary>BPF_LINK_TYPE_UPROBE_MULTI</summary>
    UprobeMulti = 12,
    /// <summary>BPF_LINK_TYPE_NETKIT</summary>
    Netkit = 13,
    /// <summary>BPF_LINK_TYPE_SOCKMAP</summary>
    SockMap = 14,
}

/// <summary>Map creation and open flags (<c>BPF_F_*</c>).</summary>
[Flags]
public enum BpfMapFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_NO_PREALLOC: allocate hash elements on demand.</summary>
    NoPrealloc = 1 << 0,
    /// <summary>BPF_F_NO_COMMON_LRU</summary>
    NoCommonLru = 1 << 1,
    /// <summary>BPF_F_NUMA_NODE</summary>
    NumaNode = 1 << 2,
    /// <summary>BPF_F_RDONLY: user space may only read.</summary>
    ReadOnly = 1 << 3,
    /// <summary>BPF_F_WRONLY: user space may only write.</summary>
    WriteOnly = 1 << 4,
    /// <summary>BPF_F_STACK_BUILD_ID</summary>
    StackBuildId = 1 << 5,
    /// <summary>BPF_F_ZERO_SEED</summary>
    ZeroSeed = 1 << 6,
    /// <summary>BPF_F_RDONLY_PROG: programs may only read.</summary>
    ReadOnlyProg = 1 << 7,
    /// <summary>BPF_F_WRONLY_PROG: programs may only write.</summary>
    WriteOnlyProg = 1 << 8,
    /// <summary>BPF_F_CLONE</summary>
    Clone = 1 << 9,
    /// <summary>BPF_F_MMAPABLE: array values can be mmapped.</summary>
    Mmapable = 1 << 10,
    /// <summary>BPF_F_PRESERVE_ELEMS</summary>
    PreserveElems = 1 << 11,
    /// <summary>BPF_F_INNER_MAP</summary>
    InnerMap = 1 << 12,
}

/// <summary>Flags of map element updates (<c>BPF_ANY</c>, <c>BPF_NOEXIST</c>, <c>BPF_EXIST</c>).</summary>
public enum BpfUpdateFlags : ulong
{
    /// <summary>BPF_ANY: create or replace.</summary>
    Any = 0,
    /// <summary>BPF_NOEXIST: create only; fails with EEXIST if the key exists.</summary>
    NoExist = 1,
    /// <summary>BPF_EXIST: replace only; fails with ENOENT if the key is missing.</summary>
    Exist = 2,
    /// <summary>BPF_F_LOCK: update under the value's spin lock.</summary>
    Lock = 4,
}
