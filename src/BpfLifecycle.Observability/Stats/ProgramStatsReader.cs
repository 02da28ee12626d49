// Reads the three sources of per-program evidence: the kernel's run statistics (bpf_prog_info), a version's own
// bpflc_stats map, and a dispatcher's per-slot counters, summing per-CPU values without allocating.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Abi;

namespace BpfLifecycle.Observability.Stats;

/// <summary>The kernel's cumulative run statistics of one program (counted only while BPF_ENABLE_STATS is held).</summary>
/// <param name="RunCount"><c>run_cnt</c>.</param>
/// <param name="RunTimeNs"><c>run_time_ns</c>.</param>
/// <param name="RecursionMisses"><c>recursion_misses</c>.</param>
public readonly record struct KernelProgramStats(ulong RunCount, ulong RunTimeNs, ulong RecursionMisses);

/// <summary>Reads program statistics from the kernel and from the maps of <c>bpf_lifecycle.h</c>.</summary>
public static class ProgramStatsReader
{
    /// <summary>The kernel's run statistics of a program.</summary>
    public static KernelProgramStats ReadKernel(BpfProgramHandle program)
    {
        ArgumentNullException.ThrowIfNull(program);
        var info = Bpf.GetProgramInfo(program);
        return new KernelProgramStats(info.RunCount, info.RunTimeNs, info.RecursionMisses);
    }

    /// <summary>Checks that a map is a <c>bpflc_stats</c> map (per-CPU array, u32 key, 32-byte value).</summary>
    /// <exception cref="ArgumentException">It is not; the message names the difference.</exception>
    public static void ValidateStatsMap(BpfMapHandle map) => Validate(map, BpfLcAbi.StatsMapName, BpfMapType.PerCpuArray, Unsafe.SizeOf<BpfLcStats>());

    /// <summary>Checks that a map can hold dispatcher counters (per-CPU array, u32 key, 16-byte value).</summary>
    /// <exception cref="ArgumentException">It cannot; the message names the difference.</exception>
    public static void ValidateDispatcherMap(BpfMapHandle map) => Validate(map, "dispatcher counters", BpfMapType.PerCpuArray, Unsafe.SizeOf<BpfLcDispatchCounters>());

    /// <summary>A version's <c>bpflc_stats</c>, summed over all CPUs.</summary>
    public static BpfLcStats ReadVersionStats(BpfMapHandle statsMap)
    {
        ArgumentNullException.ThrowIfNull(statsMap);
        BpfLcStats sum = default;
        ReadPerCpu<BpfLcStats>(statsMap, 0, (ref BpfLcStats acc, in BpfLcStats v) =>
        {
            acc.runs += v.runs;
            acc.errors += v.errors;
            acc.ns += v.ns;
            acc.lost_logs += v.lost_logs;
        }, ref sum);
        return sum;
    }

    /// <summary>A dispatcher slot's counters, summed over all CPUs; zero when the slot is outside the map.</summary>
    public static BpfLcDispatchCounters ReadDispatcherSlot(BpfMapHandle counters, uint slot)
    {
        ArgumentNullException.ThrowIfNull(counters);
        BpfLcDispatchCounters sum = default;
        ReadPerCpu<BpfLcDispatchCounters>(counters, slot, (ref BpfLcDispatchCounters acc, in BpfLcDispatchCounters v) =>
        {
            acc.picks += v.picks;
            acc.missed_tail_calls += v.missed_tail_calls;
        }, ref sum);
        return sum;
    }

    /// <summary>The kernel's memory figure for a set of maps (and programs), summed, in bytes.</summary>
    public static long ReadMemory(IEnumerable<BpfFileDescriptor> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        long total = 0;
        foreach (var o in objects)
        {
            total += Bpf.GetMemlock(o) ?? 0;
        }

        return total;
    }

    private delegate void Fold<T>(ref T acc, in T value) where T : unmanaged;

    private static void ReadPerCpu<T>(BpfMapHandle map, uint key, Fold<T> fold, ref T acc) where T : unmanaged
    {
        var cpus = Bpf.PossibleCpuCount;
        var stride = (Unsafe.SizeOf<T>() + 7) & ~7;
        var size = cpus * stride;
        // Small enough for the stack on any machine with fewer than a few hundred CPUs; the pool serves the rest.
        byte[]? rented = null;
        var buffer = size <= 4096 ? stackalloc byte[size] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(size)).AsSpan(0, size);
        try
        {
            buffer.Clear();
            if (!Bpf.MapLookup(map, MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in key)), buffer))
            {
                return;
            }

            for (var c = 0; c < cpus; c++)
            {
                fold(ref acc, in MemoryMarshal.AsRef<T>(buffer.Slice(c * stride, Unsafe.SizeOf<T>())));
            }
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void Validate(BpfMapHandle map, string what, BpfMapType type, int valueSize)
    {
        ArgumentNullException.ThrowIfNull(map);
        var info = Bpf.GetMapInfo(map);
        if (info.Type != type || info.KeySize != 4 || info.ValueSize != valueSize)
        {
            throw new ArgumentException(
                $"Map '{info.Name}' cannot be read as {what}: it is a {info.Type} map with key {info.KeySize} and value {info.ValueSize} bytes; expected {type} with key 4 and value {valueSize}.",
                nameof(map));
        }
    }
}

/// <summary>
/// Holds a BPF_ENABLE_STATS descriptor so the kernel counts run time of every program while monitoring runs.
/// Several holders may exist (in this or other processes); counting stops when the last one closes.
/// </summary>
public sealed class KernelStatsSession : IDisposable
{
    private BpfStatsHandle? _handle;

    private KernelStatsSession(BpfStatsHandle handle) => _handle = handle;

    /// <summary>Enables run-time statistics until the session is disposed.</summary>
    /// <exception cref="BpfException">The kernel refused (e.g. without CAP_SYS_ADMIN).</exception>
    public static KernelStatsSession Start() => new(Bpf.EnableStats(BpfStatsType.RunTime));

    /// <summary>Whether this session still holds its descriptor.</summary>
    public bool IsActive => _handle is { IsClosed: false };

    /// <inheritdoc />
    public void Dispose() => Interlocked.Exchange(ref _handle, null)?.Dispose();
}
