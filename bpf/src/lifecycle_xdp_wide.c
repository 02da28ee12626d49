// A version of lifecycle_xdp whose state map changed shape (16-byte values instead of 8): deploying it
// over lifecycle_xdp must fail the state-map compatibility check before anything changes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpf_lifecycle.h"

struct packet_totals {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct packet_totals);
} packets SEC(".maps");

SEC("xdp")
int lifecycle_xdp(struct xdp_md *ctx)
{
	BPFLC_BEGIN();
	__u32 zero = 0;
	struct packet_totals *t = bpf_map_lookup_elem(&packets, &zero);
	if (t) {
		__sync_fetch_and_add(&t->packets, 1);
		__sync_fetch_and_add(&t->bytes, ctx->data_end - ctx->data);
	}
	BPFLC_END(0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
