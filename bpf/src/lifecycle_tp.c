// Tracepoint program built on bpf_lifecycle.h for deployment tests of non-network hooks: counts
// getppid() calls in a state map that carries over between versions and fills the per-version stats.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpf_lifecycle.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int lifecycle_tp(void *ctx)
{
	BPFLC_BEGIN();
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&calls, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	BPFLC_END(0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
