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
    /* No comparison against data_end: the verifier refuses the read. */
    __u32 word = *(volatile __u32 *)(data + 20);
    return word == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
