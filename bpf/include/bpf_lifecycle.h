/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * bpf_lifecycle.h — the BPF side of BpfLifecycle.
 *
 * Include it from a BPF C program to get:
 *   - bpflc_version_id: set by the SDK in .rodata before load, so every record names its version;
 *   - bpflc_stats: a per-CPU per-version statistics map (runs, errors, nanoseconds, lost log records),
 *     filled by BPFLC_BEGIN()/BPFLC_END(is_error). Programs reached through a tail call get no kernel
 *     run statistics, so this map is what health rules read for versions behind a dispatcher;
 *   - BPFLC_LOG*(): log records into the bpflc_logs ring buffer, in the fixed layout the SDK parses;
 *     a record that cannot be reserved is counted in bpflc_stats.lost_logs, never silently dropped;
 *   - bpflc_config_get("key", default): runtime configuration from the bpflc_config hash map
 *     (key: up to 64 bytes, NUL-padded; value: u64), changed from user space without reloading.
 *
 * The layouts here are an ABI shared with the SDK: change them only together with the C# side.
 */
#ifndef BPF_LIFECYCLE_H
#define BPF_LIFECYCLE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef BPFLC_LOG_RING_SIZE
#define BPFLC_LOG_RING_SIZE (256 * 1024)
#endif

/* Bumped when a layout below changes; additions that keep every existing offset do not bump it. */
#define BPFLC_ABI_VERSION 1

#define BPFLC_LOG_MSG_MAX 256
#define BPFLC_CONFIG_KEY_MAX 64
#define BPFLC_LOG_MAGIC 0x474f4c42u /* "BLOG" little-endian */

enum bpflc_log_level {
	BPFLC_LEVEL_TRACE = 0,
	BPFLC_LEVEL_DEBUG = 1,
	BPFLC_LEVEL_INFO = 2,
	BPFLC_LEVEL_WARN = 3,
	BPFLC_LEVEL_ERROR = 4,
	BPFLC_LEVEL_CRITICAL = 5,
};

/* Set by the SDK before load (BpfObjectFile.SetGlobal("bpflc_version_id", ...)). */
volatile const __u64 bpflc_version_id = 0;

struct bpflc_stats {
	__u64 runs;
	__u64 errors;
	__u64 ns;
	__u64 lost_logs;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpflc_stats);
} bpflc_stats SEC(".maps");

/* Fixed-size header of a log record; the message follows it (msg_len bytes, not NUL-terminated). */
struct bpflc_log_record {
	__u32 magic;        /* BPFLC_LOG_MAGIC */
	__u8 level;         /* enum bpflc_log_level */
	__u8 flags;         /* reserved, 0 */
	__u16 msg_len;      /* bytes of msg used, <= BPFLC_LOG_MSG_MAX */
	__u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 version_id;   /* bpflc_version_id of the program that wrote it */
	__u32 pid;          /* tgid of the current task (0 in softirq context) */
	__u32 cpu;          /* CPU that wrote it */
	__u64 meta[2];      /* two user-defined values */
	char msg[BPFLC_LOG_MSG_MAX];
};

/* Bytes of a log record before msg: the part the SDK parses without allocating. */
#define BPFLC_LOG_HEADER_SIZE 48
_Static_assert(sizeof(struct bpflc_stats) == 32, "bpflc_stats layout");
_Static_assert(__builtin_offsetof(struct bpflc_log_record, msg) == BPFLC_LOG_HEADER_SIZE, "bpflc_log_record layout");
_Static_assert(sizeof(struct bpflc_log_record) == BPFLC_LOG_HEADER_SIZE + BPFLC_LOG_MSG_MAX, "bpflc_log_record size");

/*
 * Value of a traffic dispatcher's per-CPU per-slot counter map (key: __u32 slot). The dispatcher counts a pick
 * before its tail call and a missed tail call when the call falls through; the SDK sums the CPUs. Versions behind
 * a dispatcher get no kernel run statistics, so these and bpflc_stats are their evidence.
 */
struct bpflc_dispatch_counters {
	__u64 picks;
	__u64 missed_tail_calls;
};
_Static_assert(sizeof(struct bpflc_dispatch_counters) == 16, "bpflc_dispatch_counters layout");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BPFLC_LOG_RING_SIZE);
} bpflc_logs SEC(".maps");

struct bpflc_config_key {
	char name[BPFLC_CONFIG_KEY_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct bpflc_config_key);
	__type(value, __u64);
} bpflc_config SEC(".maps");

static __always_inline struct bpflc_stats *bpflc_stats_slot(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&bpflc_stats, &zero);
}

/* Start timing a run: declares __bpflc_t0 in the current scope. */
#define BPFLC_BEGIN() __u64 __bpflc_t0 = bpf_ktime_get_ns()

/* End a run started with BPFLC_BEGIN(): counts it, its duration and (if is_error) an error. */
#define BPFLC_END(is_error) bpflc_record_run(__bpflc_t0, (is_error))

static __always_inline void bpflc_record_run(__u64 t0, int is_error)
{
	struct bpflc_stats *s = bpflc_stats_slot();
	if (!s)
		return;
	s->runs++;
	s->ns += bpf_ktime_get_ns() - t0;
	if (is_error)
		s->errors++;
}

/* Count an error without a run (e.g. a condition found mid-run). */
static __always_inline void bpflc_count_error(void)
{
	struct bpflc_stats *s = bpflc_stats_slot();
	if (s)
		s->errors++;
}

/* Write a log record with a literal message and two metadata values. */
#define BPFLC_LOG(lvl, msg_literal, m0, m1)                                                      \
	do {                                                                                    \
		_Static_assert(sizeof(msg_literal) - 1 <= BPFLC_LOG_MSG_MAX, "log message too long"); \
		struct bpflc_log_record *__r =                                                  \
			bpf_ringbuf_reserve(&bpflc_logs, sizeof(struct bpflc_log_record), 0);   \
		if (!__r) {                                                                     \
			struct bpflc_stats *__s = bpflc_stats_slot();                           \
			if (__s)                                                                \
				__s->lost_logs++;                                               \
		} else {                                                                        \
			__r->magic = BPFLC_LOG_MAGIC;                                           \
			__r->level = (lvl);                                                     \
			__r->flags = 0;                                                         \
			__r->msg_len = sizeof(msg_literal) - 1;                                 \
			__r->timestamp_ns = bpf_ktime_get_ns();                                 \
			__r->version_id = bpflc_version_id;                                     \
			__r->pid = bpf_get_current_pid_tgid() >> 32;                            \
			__r->cpu = bpf_get_smp_processor_id();                                  \
			__r->meta[0] = (__u64)(m0);                                             \
			__r->meta[1] = (__u64)(m1);                                             \
			__builtin_memcpy(__r->msg, msg_literal, sizeof(msg_literal) - 1);       \
			bpf_ringbuf_submit(__r, 0);                                             \
		}                                                                               \
	} while (0)

#define BPFLC_LOG_TRACE(msg, m0, m1) BPFLC_LOG(BPFLC_LEVEL_TRACE, msg, m0, m1)
#define BPFLC_LOG_DEBUG(msg, m0, m1) BPFLC_LOG(BPFLC_LEVEL_DEBUG, msg, m0, m1)
#define BPFLC_LOG_INFO(msg, m0, m1) BPFLC_LOG(BPFLC_LEVEL_INFO, msg, m0, m1)
#define BPFLC_LOG_WARN(msg, m0, m1) BPFLC_LOG(BPFLC_LEVEL_WARN, msg, m0, m1)
#define BPFLC_LOG_ERROR(msg, m0, m1) BPFLC_LOG(BPFLC_LEVEL_ERROR, msg, m0, m1)
#define BPFLC_LOG_CRITICAL(msg, m0, m1) BPFLC_LOG(BPFLC_LEVEL_CRITICAL, msg, m0, m1)

/* Read a runtime config value; `key` must be a string literal of at most 63 characters. */
#define bpflc_config_get(key, def)                                                                 \
	({                                                                                        \
		_Static_assert(sizeof(key) <= BPFLC_CONFIG_KEY_MAX, "config key too long");      \
		struct bpflc_config_key __k = {};                                                 \
		__builtin_memcpy(__k.name, key, sizeof(key) - 1);                                 \
		__u64 *__v = bpf_map_lookup_elem(&bpflc_config, &__k);                            \
		__v ? *__v : (__u64)(def);                                                        \
	})

/* True for `rate` percent of calls: sampling driven by runtime config (see bpflc_config_get). */
static __always_inline int bpflc_sample(__u64 rate_percent)
{
	if (rate_percent >= 100)
		return 1;
	return (bpf_get_prandom_u32() % 100) < rate_percent;
}

#endif /* BPF_LIFECYCLE_H */
