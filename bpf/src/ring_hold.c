// Test object for the ring buffer reader: a producer that submits one record, then reserves a second record of the
// same length and holds it (the kernel marks it busy) until user space sets a release flag, or a bound runs out.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} held SEC(".maps");

/* control[0]: set to 1 by user space to release the held record.
 * control[1]: written by the program: 1 = released by the flag, 2 = the bound ran out first. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} control SEC(".maps");

#define INNER_SPINS (1 << 20)
#define OUTER_SPINS 256

static long spin_inner(__u64 index, void *ctx)
{
    __u32 key = 0;
    __u64 *release = bpf_map_lookup_elem(&control, &key);
    return release && *(volatile __u64 *)release ? 1 : 0;
}

static long spin_outer(__u64 index, void *ctx)
{
    long spun = bpf_loop(INNER_SPINS, spin_inner, NULL, 0);
    if (spun < INNER_SPINS) {
        *(int *)ctx = 1;
        return 1;
    }
    return 0;
}

SEC("xdp")
int hold_second(struct xdp_md *xdp)
{
    __u64 *first = bpf_ringbuf_reserve(&held, 16, 0);
    if (!first)
        return XDP_ABORTED;
    first[0] = 1;
    first[1] = 0x1111111111111111ULL;
    bpf_ringbuf_submit(first, 0);

    __u64 *second = bpf_ringbuf_reserve(&held, 16, 0);
    if (!second)
        return XDP_ABORTED;
    second[0] = 2;
    second[1] = 0x2222222222222222ULL;

    int released = 0;
    bpf_loop(OUTER_SPINS, spin_outer, &released, 0);

    __u32 key = 1;
    __u64 *outcome = bpf_map_lookup_elem(&control, &key);
    if (outcome)
        *outcome = released ? 1 : 2;
    bpf_ringbuf_submit(second, 0);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
