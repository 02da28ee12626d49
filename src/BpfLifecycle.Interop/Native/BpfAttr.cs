// Kernel ABI structs of bpf(2): one blittable struct per member of union bpf_attr that the SDK
// uses, with the kernel's field names. Always start from default: the kernel rejects non-zero
// bytes it does not know. Offsets are checked against the running kernel's BTF by a test.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Interop.Native;

#pragma warning disable CA1823, IDE0044, IDE1006 // ABI field names and padding

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct bpf_map_create_attr
{
    public uint map_type;
    public uint key_size;
    public uint value_size;
    public uint max_entries;
    public uint map_flags;
    public uint inner_map_fd;
    public uint numa_node;
    public fixed byte map_name[16];
    public uint map_ifindex;
    public uint btf_fd;
    public uint btf_key_type_id;
    public uint btf_value_type_id;
    public uint btf_vmlinux_value_type_id;
    public ulong map_extra;
    public int value_type_btf_obj_fd;
    public int map_token_fd;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_map_elem_attr
{
    public uint map_fd;
    private uint _pad;
    public ulong key;
    /// <summary>value, or next_key for BPF_MAP_GET_NEXT_KEY.</summary>
    public ulong value;
    public ulong flags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_map_batch_attr
{
    public ulong in_batch;
    public ulong out_batch;
    public ulong keys;
    public ulong values;
    public uint count;
    public uint map_fd;
    public ulong elem_flags;
    public ulong flags;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct bpf_prog_load_attr
{
    public uint prog_type;
    public uint insn_cnt;
    public ulong insns;
    public ulong license;
    public uint log_level;
    public uint log_size;
    public ulong log_buf;
    public uint kern_version;
    public uint prog_flags;
    public fixed byte prog_name[16];
    public uint prog_ifindex;
    public uint expected_attach_type;
    public uint prog_btf_fd;
    public uint func_info_rec_size;
    public ulong func_info;
    public uint func_info_cnt;
    public uint line_info_rec_size;
    public ulong line_info;
    public uint line_info_cnt;
    public uint attach_btf_id;
    public uint attach_prog_fd;
    public uint core_relo_cnt;
    public ulong fd_array;
    public ulong core_relos;
    public uint core_relo_rec_size;
    public uint log_true_size;
    public int prog_token_fd;
    public uint fd_array_cnt;
    public ulong signature;
    public uint signature_size;
    public int keyring_id;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_obj_pin_attr
{
    public ulong pathname;
    public uint bpf_fd;
    public uint file_flags;
    public int path_fd;
    private uint _pad;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_get_id_attr
{
    /// <summary>start_id, prog_id, map_id, btf_id or link_id.</summary>
    public uint start_id;
    public uint next_id;
    public uint open_flags;
    public uint fd_by_id_token_fd;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_obj_info_attr
{
    public uint bpf_fd;
    public uint info_len;
    public ulong info;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_prog_query_attr
{
    /// <summary>target_fd or target_ifindex.</summary>
    public uint target_fd;
    public uint attach_type;
    public uint query_flags;
    public uint attach_flags;
    public ulong prog_ids;
    /// <summary>prog_cnt (also called count).</summary>
    public uint prog_cnt;
    private uint _pad;
    public ulong prog_attach_flags;
    public ulong link_ids;
    public ulong link_attach_flags;
    public ulong revision;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_raw_tracepoint_attr
{
    public ulong name;
    public uint prog_fd;
    private uint _pad;
    public ulong cookie;
}

/// <summary>BPF_LINK_CREATE; the union after <c>flags</c> is laid out per attach kind.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct bpf_link_create_attr
{
    /// <summary>prog_fd or map_fd.</summary>
    [FieldOffset(0)] public uint prog_fd;
    /// <summary>target_fd or target_ifindex.</summary>
    [FieldOffset(4)] public uint target_fd;
    [FieldOffset(8)] public uint attach_type;
    [FieldOffset(12)] public uint flags;
    /// <summary>target_btf_id (tracing) — first word of the union.</summary>
    [FieldOffset(16)] public uint target_btf_id;
    /// <summary>perf_event.bpf_cookie.</summary>
    [FieldOffset(16)] public ulong perf_event_bpf_cookie;
    /// <summary>tcx.relative_fd or tcx.relative_id.</summary>
    [FieldOffset(16)] public uint tcx_relative_fd;
    /// <summary>tcx.expected_revision.</summary>
    [FieldOffset(24)] public ulong tcx_expected_revision;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_link_update_attr
{
    public uint link_fd;
    public uint new_prog_fd;
    public uint flags;
    public uint old_prog_fd;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_link_detach_attr
{
    public uint link_fd;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_enable_stats_attr
{
    public uint type;
}

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_prog_test_run_attr
{
    public uint prog_fd;
    public uint retval;
    public uint data_size_in;
    public uint data_size_out;
    public ulong data_in;
    public ulong data_out;
    public uint repeat;
    public uint duration;
    public uint ctx_size_in;
    public uint ctx_size_out;
    public ulong ctx_in;
    public ulong ctx_out;
    public uint flags;
    public uint cpu;
    public uint batch_size;
    private uint _pad;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct bpf_prog_info
{
    public uint type;
    public uint id;
    public fixed byte tag[8];
    public uint jited_prog_len;
    public uint xlated_prog_len;
    public ulong jited_prog_insns;
    public ulong xlated_prog_insns;
    public ulong load_time;
    public uint created_by_uid;
    public uint nr_map_ids;
    public ulong map_ids;
    public fixed byte name[16];
    public uint ifindex;
    /// <summary>gpl_compatible is bit 0.</summary>
    public uint gpl_compatible;
    public ulong netns_dev;
    public ulong netns_ino;
    public uint nr_jited_ksyms;
    public uint nr_jited_func_lens;
    public ulong jited_ksyms;
    public ulong jited_func_lens;
    public uint btf_id;
    public uint func_info_rec_size;
    public ulong func_info;
    public uint nr_func_info;
    public uint nr_line_info;
    public ulong line_info;
    public ulong jited_line_info;
    public uint nr_jited_line_info;
    public uint line_info_rec_size;
    public uint jited_line_info_rec_size;
    public uint nr_prog_tags;
    public ulong prog_tags;
    public ulong run_time_ns;
    public ulong run_cnt;
    public ulong recursion_misses;
    public uint verified_insns;
    public uint attach_btf_obj_id;
    public uint attach_btf_id;
    private uint _pad;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct bpf_map_info
{
    public uint type;
    public uint id;
    public uint key_size;
    public uint value_size;
    public uint max_entries;
    public uint map_flags;
    public fixed byte name[16];
    public uint ifindex;
    public uint btf_vmlinux_value_type_id;
    public ulong netns_dev;
    public ulong netns_ino;
    public uint btf_id;
    public uint btf_key_type_id;
    public uint btf_value_type_id;
    public uint btf_vmlinux_id;
    public ulong map_extra;
}

/// <summary>struct bpf_link_info; the union after prog_id is read per link type.</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal struct bpf_link_info
{
    [FieldOffset(0)] public uint type;
    [FieldOffset(4)] public uint id;
    [FieldOffset(8)] public uint prog_id;
    // raw_tracepoint: tp_name (u64 pointer), tp_name_len
    [FieldOffset(16)] public ulong raw_tracepoint_tp_name;
    [FieldOffset(24)] public uint raw_tracepoint_tp_name_len;
    // cgroup: cgroup_id, attach_type
    [FieldOffset(16)] public ulong cgroup_cgroup_id;
    [FieldOffset(24)] public uint cgroup_attach_type;
    // netns: netns_ino, attach_type
    [FieldOffset(16)] public uint netns_netns_ino;
    [FieldOffset(20)] public uint netns_attach_type;
    // xdp: ifindex
    [FieldOffset(16)] public uint xdp_ifindex;
    // tcx: ifindex, attach_type
    [FieldOffset(16)] public uint tcx_ifindex;
    [FieldOffset(20)] public uint tcx_attach_type;
    // perf_event: type (enum bpf_perf_event_type)
    [FieldOffset(16)] public uint perf_event_type;
}
