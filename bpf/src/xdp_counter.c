// XDP program for tests and the sample: counts packets per verdict-independent slot and passes them.
// Slot 0 counts every packet; slot 1 counts IPv4 UDP packets.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} packet_count SEC(".maps");

/* Set before load: the verdict to return (XDP_PASS by default). */
volatile const __u32 verdict = XDP_PASS;

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(&packet_count, &key);
    if (v)
        __sync_fetch_and_add(v, 1);

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return verdict;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return verdict;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return verdict;
    if (ip->protocol == IPPROTO_UDP) {
        key = 1;
        v = bpf_map_lookup_elem(&packet_count, &key);
        if (v)
            __sync_fetch_and_add(v, 1);
    }
    return verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
