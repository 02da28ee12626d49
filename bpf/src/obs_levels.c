// XDP program that writes one log record of every level per run and counts one error without ending the run:
// the kernel test of bpf_lifecycle.h's level macros, bpflc_count_error() and runtime config reads.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpf_lifecycle.h"

SEC("xdp")
int obs_levels(struct xdp_md *ctx)
{
	BPFLC_BEGIN();
	__u64 tag = bpflc_config_get("run_tag", 0);
	BPFLC_LOG_TRACE("trace record", tag, 0);
	BPFLC_LOG_DEBUG("debug record", tag, 1);
	BPFLC_LOG_INFO("info record", tag, 2);
	BPFLC_LOG_WARN("warn record", tag, 3);
	BPFLC_LOG_ERROR("error record", tag, 4);
	BPFLC_LOG_CRITICAL("critical record", tag, 5);
	bpflc_count_error();
	BPFLC_END(0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
