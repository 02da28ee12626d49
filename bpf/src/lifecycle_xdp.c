// XDP program built on bpf_lifecycle.h: the lifecycle's reference program for tests and the sample.
// Counts packets in a state map that carries over between versions, fills the per-version stats,
// logs a sampled record per packet, and returns a verdict that can be forced to fail (error_every).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpf_lifecycle.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

/* Set before load: the verdict for packets (XDP_PASS = 2) and, if non-zero, make every Nth packet an error. */
volatile const __u32 verdict = XDP_PASS;
volatile const __u32 error_every = 0;

SEC("xdp")
int lifecycle_xdp(struct xdp_md *ctx)
{
	BPFLC_BEGIN();
	__u32 zero = 0;
	__u64 n = 0;
	__u64 *count = bpf_map_lookup_elem(&packets, &zero);
	if (count)
		n = __sync_fetch_and_add(count, 1) + 1;
	int error = error_every != 0 && (n % error_every) == 0;
	if (bpflc_sample(bpflc_config_get("log_sample_percent", 0)))
		BPFLC_LOG_INFO("packet", n, ctx->ingress_ifindex);
	BPFLC_END(error);
	return error ? XDP_ABORTED : verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
