// Test object for pin-by-name maps: libbpf pins shared_state under the object's pin root on first load and
// reuses the pinned map on later loads, so the run count survives a reload.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_state SEC(".maps");

SEC("xdp")
int xdp_state(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *runs = bpf_map_lookup_elem(&shared_state, &key);
    if (runs)
        __sync_fetch_and_add(runs, 1);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
