// Estimates, before load, the memory the kernel will charge for a map, using the kernel's own accounting
// (map_mem_usage of each map type, which is what fdinfo's memlock shows).
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Budgets;

/// <summary>
/// The kernel's memory figure for a map, computed from its spec. The formulas follow each map type's
/// <c>map_mem_usage</c> in the kernel; the struct sizes were measured on Linux 6.18 (x86_64), where the estimate
/// equals fdinfo's <c>memlock</c> for arrays, per-CPU arrays, program arrays, (per-CPU/LRU) hashes and ring buffers.
/// Hashes without preallocation are estimated full (the kernel charges them per element as they fill).
/// Other types get a per-entry approximation.
/// </summary>
public static class MapMemoryEstimator
{
    // Struct sizes from the kernel (6.18, x86_64), fitted to fdinfo memlock figures.
    private const long BpfArraySize = 312;          // sizeof(struct bpf_array)
    private const long BpfHtabSize = 832;           // sizeof(struct bpf_htab)
    private const long HtabElemSize = 48;           // sizeof(struct htab_elem) without key and value
    private const long BucketSize = 16;             // sizeof(struct bucket)
    private const long HashLockCount = 8;           // HASHTAB_MAP_LOCK_COUNT
    private const long LlistNodeSize = 8;           // sizeof(struct llist_node)
    private const long RingbufMapSize = 304;        // sizeof(struct bpf_ringbuf_map)
    private const long RingbufMetaPages = 3;        // RINGBUF_NR_META_PAGES
    private const long PointerSize = 8;

    /// <summary>Bytes the kernel will charge for a map of <paramref name="spec"/>.</summary>
    public static long Estimate(BpfMapSpec spec) => Estimate(spec, Bpf.PossibleCpuCount, Environment.SystemPageSize);

    /// <summary>Bytes the kernel will charge for a map of <paramref name="spec"/> with the given CPU count and page size.</summary>
    public static long Estimate(BpfMapSpec spec, int possibleCpus, int pageSize)
    {
        ArgumentNullException.ThrowIfNull(spec);
        long entries = spec.MaxEntries;
        long key = RoundUp8(spec.KeySize);
        long value = RoundUp8(spec.ValueSize);
        long cpus = possibleCpus;
        switch (spec.Type)
        {
            case BpfMapType.Array or BpfMapType.ProgArray or BpfMapType.PerfEventArray or BpfMapType.CgroupArray or BpfMapType.ArrayOfMaps:
            {
                var elem = spec.Type == BpfMapType.Array ? value : PointerSize;
                if (spec.Type == BpfMapType.Array && spec.Flags.HasFlag(BpfMapFlags.Mmapable))
                {
                    return PageAlign(BpfArraySize, pageSize) + PageAlign(entries * elem, pageSize);
                }

                return BpfArraySize + (entries * elem);
            }

            case BpfMapType.PerCpuArray:
                return BpfArraySize + (entries * PointerSize) + (entries * value * cpus);

            case BpfMapType.Hash or BpfMapType.PerCpuHash or BpfMapType.LruHash or BpfMapType.LruPerCpuHash or BpfMapType.HashOfMaps:
            {
                var percpu = spec.Type is BpfMapType.PerCpuHash or BpfMapType.LruPerCpuHash;
                var lru = spec.Type is BpfMapType.LruHash or BpfMapType.LruPerCpuHash;
                var elemValue = percpu ? PointerSize : spec.Type == BpfMapType.HashOfMaps ? PointerSize : value;
                var elemSize = HtabElemSize + key + elemValue;
                var usage = BpfHtabSize + (BucketSize * (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)Math.Max(1, entries))) + (sizeof(int) * cpus * HashLockCount);
                var prealloc = !spec.Flags.HasFlag(BpfMapFlags.NoPrealloc);
                if (prealloc)
                {
                    var n = entries + (!percpu && !lru ? cpus : 0);
                    usage += elemSize * n;
                    usage += percpu ? value * cpus * n : !lru ? PointerSize * cpus : 0;
                }
                else
                {
                    usage += (elemSize + LlistNodeSize) * entries;
                    if (percpu)
                    {
                        usage += value * cpus * entries;
                    }
                }

                return usage;
            }

            case BpfMapType.RingBuf or BpfMapType.UserRingBuf:
            {
                long dataPages = entries / pageSize;
                var pages = RingbufMetaPages + dataPages;
                return RingbufMapSize + (pages * pageSize) + ((pages + dataPages) * PointerSize);
            }

            default:
                // Approximation: a small header plus key, value and a node per entry.
                return 512 + (entries * (key + value + HtabElemSize));
        }
    }

    /// <summary>The sum of <see cref="Estimate(BpfMapSpec)"/> over <paramref name="specs"/>.</summary>
    public static long EstimateAll(IEnumerable<BpfMapSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        return specs.Sum(Estimate);
    }

    /// <summary>The kernel's figure (fdinfo <c>memlock</c>) for loaded maps, by name; 0 where the kernel gives none.</summary>
    public static IReadOnlyDictionary<string, long> Measure(IReadOnlyDictionary<string, BpfMapHandle> maps)
    {
        ArgumentNullException.ThrowIfNull(maps);
        return maps.ToDictionary(kv => kv.Key, kv => Bpf.GetMemlock(kv.Value) ?? 0, StringComparer.Ordinal);
    }

    private static long RoundUp8(uint v) => (v + 7L) & ~7L;

    private static long PageAlign(long v, int page) => (v + page - 1) / page * page;
}
