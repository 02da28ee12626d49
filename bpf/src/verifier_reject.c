// Test object whose second program the verifier rejects (packet read without a bounds check);
// the first program is valid, so disabling autoload of the bad one lets the object load.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_fine(struct xdp_md *ctx)
{
    return XDP_PASS;
}

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    /* Harmless work first, so the log runs to a few kilobytes before the error. */
    volatile __u32 acc = 0;
#pragma unroll
    for (int i = 0; i < 16; i++)
        acc += i;
    /* No comparison against data_end: the verifier refuses the read. */
    __u32 word = *(volatile __u32 *)(data + 20);
    return word == acc ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
