// XDP program that writes one log record of every level per run and counts one error without ending the run:
// the kernel test of bpf_lifecycle.h's level macros, bpflc_count_error() and runtime config reads. With the config
// key emit_malformed set it also writes two malformed records (too short; unknown level) to test their counting.
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
	if (bpflc_config_get("emit_malformed", 0)) {
		__u64 junk[2] = { 0xdeadbeef, tag };
		bpf_ringbuf_output(&bpflc_logs, junk, sizeof(junk), 0);
		struct bpflc_log_record *r = bpf_ringbuf_reserve(&bpflc_logs, sizeof(*r), 0);
		if (r) {
			__builtin_memset(r, 0, sizeof(*r));
			r->magic = BPFLC_LOG_MAGIC;
			r->level = 9;
			bpf_ringbuf_submit(r, 0);
		}
	}
	bpflc_count_error();
	BPFLC_END(0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
