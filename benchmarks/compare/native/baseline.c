/* C baseline for benchmarks/compare: the same operations through libbpf, timed inside C so the
 * managed-to-native transition is paid once per measurement, not per operation. */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static long long now_ns(void)
{
    struct timespec ts;
    /* Thread CPU time (user + system): time slices lost to other processes on a shared machine do not count. */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct drain_ctx {
    unsigned long long sum;
    long long records;
};

static struct drain_ctx g_drain;

static int on_sample(void *ctx, void *data, size_t size)
{
    struct drain_ctx *c = ctx;
    (void)size;
    c->sum += *(const unsigned long long *)data;
    c->records++;
    return 0;
}

void *bl_ring_new(int map_fd)
{
    return ring_buffer__new(map_fd, on_sample, &g_drain, NULL);
}

void bl_ring_free(void *rb)
{
    ring_buffer__free(rb);
}

/* Drains everything in the ring with ring_buffer__consume; returns elapsed ns. */
long long bl_ring_drain(void *rb, long long *records, unsigned long long *sum)
{
    g_drain.sum = 0;
    g_drain.records = 0;
    long long t0 = now_ns();
    while (ring_buffer__consume(rb) > 0)
        ;
    long long t1 = now_ns();
    *records = g_drain.records;
    *sum = g_drain.sum;
    return t1 - t0;
}

long long bl_map_lookup(int fd, unsigned int keys, long long iters, unsigned long long *sum)
{
    unsigned long long s = 0, v;
    long long t0 = now_ns();
    for (long long i = 0; i < iters; i++) {
        uint32_t key = (uint32_t)i & (keys - 1);
        if (bpf_map_lookup_elem(fd, &key, &v) == 0)
            s += v;
    }
    long long t1 = now_ns();
    *sum = s;
    return t1 - t0;
}

long long bl_map_update(int fd, unsigned int keys, long long iters)
{
    long long t0 = now_ns();
    for (long long i = 0; i < iters; i++) {
        uint32_t key = (uint32_t)i & (keys - 1);
        unsigned long long v = (unsigned long long)i;
        if (bpf_map_update_elem(fd, &key, &v, BPF_ANY) != 0)
            return -errno;
    }
    return now_ns() - t0;
}

/* Reads the whole map with BPF_MAP_LOOKUP_BATCH in chunks of 'chunk' entries; returns elapsed ns. */
long long bl_map_batch_lookup(int fd, unsigned int chunk, uint32_t *keys, unsigned long long *values, long long *total)
{
    unsigned long long in_batch = 0, out_batch = 0;
    long long n = 0;
    int first = 1;
    long long t0 = now_ns();
    for (;;) {
        __u32 count = chunk;
        int err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, values, &count, NULL);
        n += count;
        if (err) {
            if (errno == ENOENT)
                break;
            return -errno;
        }
        in_batch = out_batch;
        first = 0;
    }
    long long t1 = now_ns();
    *total = n;
    return t1 - t0;
}

/* Sums an mmapped u64 array 'rounds' times; returns elapsed ns. */
long long bl_array_sum(const unsigned long long *p, long long n, int rounds, unsigned long long *sum)
{
    unsigned long long s = 0;
    long long t0 = now_ns();
    for (int r = 0; r < rounds; r++) {
        /* The barrier makes every round read the mapping again. */
        __asm__ volatile("" ::: "memory");
        for (long long i = 0; i < n; i++)
            s += p[i];
    }
    long long t1 = now_ns();
    *sum = s;
    return t1 - t0;
}
