// Version 2 of lifecycle_xdp (the sample artifacts v2 and v3): everything v1 does, plus a count of packets per IP
// protocol in a new state map. The packets map is declared exactly as in lifecycle_xdp.c, so it carries over
// from v1 during a canary or blue-green rollout; protocols starts empty with v2 and carries over to later versions.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "bpf_lifecycle.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

/* Packets per IP protocol number (IPv4 protocol, IPv6 next header): 17 = UDP, 6 = TCP, 1 = ICMP, 58 = ICMPv6. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} protocols SEC(".maps");

/* Set before load: the verdict for packets (XDP_PASS = 2) and, if non-zero, make every Nth packet an error. */
volatile const __u32 verdict = XDP_PASS;
volatile const __u32 error_every = 0;

/* The IP protocol of an Ethernet frame, or -1 when it is not IPv4/IPv6 or too short to tell. */
static __always_inline int ip_protocol(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return -1;
		return ip->protocol;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return -1;
		return ip6->nexthdr;
	}
	return -1;
}

SEC("xdp")
int lifecycle_xdp(struct xdp_md *ctx)
{
	BPFLC_BEGIN();
	__u32 zero = 0;
	__u64 n = 0;
	__u64 *count = bpf_map_lookup_elem(&packets, &zero);
	if (count)
		n = __sync_fetch_and_add(count, 1) + 1;
	int proto = ip_protocol(ctx);
	if (proto >= 0) {
		__u32 key = proto;
		__u64 *per_protocol = bpf_map_lookup_elem(&protocols, &key);
		if (per_protocol)
			__sync_fetch_and_add(per_protocol, 1);
	}
	int error = error_every != 0 && (n % error_every) == 0;
	if (bpflc_sample(bpflc_config_get("log_sample_percent", 0)))
		BPFLC_LOG_INFO("packet", n, ctx->ingress_ifindex);
	BPFLC_END(error);
	return error ? XDP_ABORTED : verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
