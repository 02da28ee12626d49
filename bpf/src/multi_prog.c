// Test object for the libbpf binding: two programs of different types sharing maps of five kinds,
// a .rodata const, a .data global and a custom .rodata.limits section, all settable before load.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} flows SEC(".maps");

/* Slot 0: XDP runs; slot 1: socket filter weight sum. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} percpu_hits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 16384);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} jump_table SEC(".maps");

/* Entry 0, when non-zero and a valid XDP action, overrides the verdict: lets a reused map steer the program. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} settings SEC(".maps");

volatile const __u32 verdict = XDP_PASS;
__u32 weight = 3;
volatile const __u32 snap_len SEC(".rodata.limits") = 1500;

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(&counters, &key);
    if (v)
        __sync_fetch_and_add(v, 1);
    v = bpf_map_lookup_elem(&percpu_hits, &key);
    if (v)
        *v += 1;

    __u32 len = ctx->data_end - ctx->data;
    __u64 one = 1;
    __u64 *seen = bpf_map_lookup_elem(&flows, &len);
    if (seen)
        __sync_fetch_and_add(seen, 1);
    else
        bpf_map_update_elem(&flows, &len, &one, BPF_NOEXIST);

    bpf_ringbuf_output(&events, &len, sizeof(len), 0);
    bpf_tail_call(ctx, &jump_table, 0);

    __u32 *override = bpf_map_lookup_elem(&settings, &key);
    if (override && *override != 0 && *override <= XDP_REDIRECT)
        return *override;
    return verdict;
}

SEC("socket")
int count_socket(struct __sk_buff *skb)
{
    __u32 key = 1;
    __u64 *v = bpf_map_lookup_elem(&counters, &key);
    if (v)
        __sync_fetch_and_add(v, weight);
    return skb->len < snap_len ? skb->len : snap_len;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
