// TCX (SCHED_CLS) program built on bpf_lifecycle.h for deployment tests of tc hooks: counts packets in
// a state map that carries over between versions, fills the per-version stats and passes every packet.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpf_lifecycle.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

SEC("tc")
int lifecycle_tc(struct __sk_buff *skb)
{
	BPFLC_BEGIN();
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&packets, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	BPFLC_END(0);
	return 0; /* TCX_PASS */
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
