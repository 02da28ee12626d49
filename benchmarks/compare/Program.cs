// Measures BpfLifecycle.Maps against a libbpf C baseline on the same kernel objects in one run and prints one line per
// case: "<case>: ours=<n> <unit> baseline=<n> <unit> speedup=<n>" (speedup > 1: ours is faster). Diagnostics go to stderr.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfLifecycle.Benchmarks.Shared;
using BpfLifecycle.Interop;
using BpfLifecycle.Maps;

namespace BpfLifecycle.Benchmarks.Compare;

/// <summary>The calling thread's CPU time (user + system), the same clock the C baseline reads.</summary>
internal static unsafe partial class CpuClock
{
    private const int CLOCK_THREAD_CPUTIME_ID = 3;

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, long* ts);

    public static long Now()
    {
        long* ts = stackalloc long[2];
        _ = ClockGetTime(CLOCK_THREAD_CPUTIME_ID, ts);
        return ts[0] * 1_000_000_000L + ts[1];
    }
}

/// <summary>Measures what the calling thread allocates while our side of a case runs.</summary>
internal sealed class AllocationMeter
{
    /// <summary>Bytes allocated during the last <see cref="Track{T}"/>.</summary>
    public long Last { get; private set; }

    /// <summary>Runs <paramref name="measure"/> and records the bytes this thread allocated meanwhile.</summary>
    public T Track<T>(Func<T> measure)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = measure();
        Last = GC.GetAllocatedBytesForCurrentThread() - before;
        return result;
    }
}

internal static unsafe class Program
{
    private const int Rounds = 15;
    private const int RingRounds = 11;

    private static delegate* unmanaged<int, void*> s_ringNew;
    private static delegate* unmanaged<void*, void> s_ringFree;
    private static delegate* unmanaged<void*, long*, ulong*, long> s_ringDrain;
    private static delegate* unmanaged<int, uint, long, ulong*, long> s_mapLookup;
    private static delegate* unmanaged<int, uint, long, long> s_mapUpdate;
    private static delegate* unmanaged<int, uint, uint*, ulong*, long*, long> s_batchLookup;
    private static delegate* unmanaged<ulong*, long, int, ulong*, long> s_arraySum;

    private static int Main(string[] args)
    {
        var only = args.Length > 0 ? new HashSet<string>(args, StringComparer.Ordinal) : null;
        var library = BuildBaseline();
        var handle = NativeLibrary.Load(library);
        s_ringNew = (delegate* unmanaged<int, void*>)NativeLibrary.GetExport(handle, "bl_ring_new");
        s_ringFree = (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(handle, "bl_ring_free");
        s_ringDrain = (delegate* unmanaged<void*, long*, ulong*, long>)NativeLibrary.GetExport(handle, "bl_ring_drain");
        s_mapLookup = (delegate* unmanaged<int, uint, long, ulong*, long>)NativeLibrary.GetExport(handle, "bl_map_lookup");
        s_mapUpdate = (delegate* unmanaged<int, uint, long, long>)NativeLibrary.GetExport(handle, "bl_map_update");
        s_batchLookup = (delegate* unmanaged<int, uint, uint*, ulong*, long*, long>)NativeLibrary.GetExport(handle, "bl_map_batch_lookup");
        s_arraySum = (delegate* unmanaged<ulong*, long, int, ulong*, long>)NativeLibrary.GetExport(handle, "bl_array_sum");

        (string Name, Action Run)[] cases =
        [
            ("ringbuf-drain", () => RingbufDrain("ringbuf-drain", mixed: false)),
            ("ringbuf-drain-mixed", () => RingbufDrain("ringbuf-drain-mixed", mixed: true)),
            ("map-lookup", MapLookup),
            ("map-update", MapUpdate),
            ("map-batch-lookup", MapBatchLookup),
            ("array-mmap-read", ArrayMmapRead),
        ];
        foreach (var (name, run) in cases)
        {
            if (only is null || only.Contains(name))
            {
                run();
            }
        }

        return 0;
    }

    // ------------------------------------------------------------------ cases

    /// <summary>
    /// A 128 MiB ring pre-filled with 1M 64-byte records by a BPF program (with <paramref name="mixed"/>: 64 or 40 bytes at
    /// random, so no record length can be predicted from the previous one); each side drains it completely.
    /// </summary>
    private static void RingbufDrain(string name, bool mixed)
    {
        const uint records = 1_000_000;
        using var map = BpfMap.Create(new BpfMapSpec("bench_ring", BpfMapType.RingBuf, 0, 0, 1u << 27));
        using var filler = new RingFiller(map.Handle, mixed);
        using var ring = RingBuffer.Open(map);
        var rb = s_ringNew(map.Handle.Fd);
        if (rb == null)
        {
            throw new InvalidOperationException("ring_buffer__new failed");
        }

        try
        {
            var ours = new List<double>();
            var theirs = new List<double>();
            var allocations = new AllocationMeter();
            for (var round = -2; round < RingRounds; round++)
            {
                // Alternate which side goes first so drift in machine load does not favour either.
                double oursNs = 0, theirsNs = 0;
                for (var side = 0; side < 2; side++)
                {
                    filler.Fill(records);
                    if ((side == 0) == (round % 2 == 0))
                    {
                        var (ns, count) = allocations.Track(() => DrainOurs(ring));
                        Check(count == records, $"ours drained {count} records");
                        oursNs = ns;
                    }
                    else
                    {
                        long cCount;
                        ulong cSum;
                        theirsNs = s_ringDrain(rb, &cCount, &cSum);
                        Check(cCount == records, $"libbpf drained {cCount} records");
                    }
                }

                if (round >= 0)
                {
                    ours.Add(oursNs / records);
                    theirs.Add(theirsNs / records);
                }
            }

            Report(name, Median(ours), Median(theirs), "ns/record", lowerIsBetter: true);
            Console.Error.WriteLine($"{name}: ours allocated {allocations.Last} bytes for {records} records");
        }
        finally
        {
            s_ringFree(rb);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static (long Ns, long Count) DrainOurs(RingBuffer ring)
    {
        var start = CpuClock.Now();
        ulong sum = 0;
        long n = 0;
        foreach (var record in ring.ReadBatch())
        {
            // Same work as the C callback: read the first 8 bytes (records are known to be 64 bytes).
            sum += Unsafe.ReadUnaligned<ulong>(ref MemoryMarshal.GetReference(record));
            n++;
        }

        var ns = CpuClock.Now() - start;
        GC.KeepAlive(sum);
        return (ns, n);
    }

    private static BpfHashMap<uint, ulong> NewHash(int entries)
    {
        var map = BpfHashMap<uint, ulong>.Create("bench_hash", entries);
        var keys = Enumerable.Range(0, entries).Select(i => (uint)i).ToArray();
        map.UpdateBatch(keys, keys.Select(k => (ulong)k * 3).ToArray());
        return map;
    }

    /// <summary>Hash u32 -> u64 with 1024 keys, BPF_MAP_LOOKUP_ELEM per key in turn.</summary>
    private static void MapLookup()
    {
        const long iterations = 300_000;
        using var map = NewHash(1024);
        var allocations = new AllocationMeter();
        var (ours, theirs) = Alternate(
            () => (double)allocations.Track(() => LookupOurs(map, iterations)) / iterations,
            () =>
            {
                ulong sum;
                return (double)s_mapLookup(map.Handle.Fd, 1024, iterations, &sum) / iterations;
            });

        Report("map-lookup", ours, theirs, "ns/op", lowerIsBetter: true);
        Console.Error.WriteLine($"map-lookup: ours allocated {allocations.Last} bytes for {iterations} operations");
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long LookupOurs(BpfHashMap<uint, ulong> map, long iterations)
    {
        var start = CpuClock.Now();
        ulong sum = 0;
        for (long i = 0; i < iterations; i++)
        {
            if (map.TryLookup((uint)i & 1023, out var v))
            {
                sum += v;
            }
        }

        var ns = CpuClock.Now() - start;
        GC.KeepAlive(sum);
        return ns;
    }

    /// <summary>Hash u32 -> u64 with 1024 keys, BPF_MAP_UPDATE_ELEM (BPF_ANY) per key in turn.</summary>
    private static void MapUpdate()
    {
        const long iterations = 300_000;
        using var map = NewHash(1024);
        var allocations = new AllocationMeter();
        var (ours, theirs) = Alternate(
            () => (double)allocations.Track(() => UpdateOurs(map, iterations)) / iterations,
            () =>
            {
                var cNs = s_mapUpdate(map.Handle.Fd, 1024, iterations);
                Check(cNs >= 0, $"bpf_map_update_elem failed: errno {-cNs}");
                return (double)cNs / iterations;
            });

        Report("map-update", ours, theirs, "ns/op", lowerIsBetter: true);
        Console.Error.WriteLine($"map-update: ours allocated {allocations.Last} bytes for {iterations} operations");
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long UpdateOurs(BpfHashMap<uint, ulong> map, long iterations)
    {
        var start = CpuClock.Now();
        for (long i = 0; i < iterations; i++)
        {
            map.Update((uint)i & 1023, (ulong)i);
        }

        return CpuClock.Now() - start;
    }

    /// <summary>Hash u32 -> u64 with 64k entries read completely with BPF_MAP_LOOKUP_BATCH, 8192 entries per call on both sides.</summary>
    private static void MapBatchLookup()
    {
        const int entries = 65536;
        const int chunk = 8192;
        using var map = NewHash(entries);
        var keys = GC.AllocateArray<uint>(chunk, pinned: true);
        var values = GC.AllocateArray<ulong>(chunk, pinned: true);
        var cursor = new BpfBatchCursor();
        var allocations = new AllocationMeter();
        var (ours, theirs) = Alternate(
            () =>
            {
                var (ns, total) = allocations.Track(() => BatchOurs(map, cursor, keys, values));
                Check(total == entries, $"ours read {total} entries");
                return (double)ns / entries;
            },
            () =>
            {
                long cTotal;
                long cNs;
                fixed (uint* k = keys)
                fixed (ulong* v = values)
                {
                    cNs = s_batchLookup(map.Handle.Fd, chunk, k, v, &cTotal);
                }

                Check(cNs >= 0 && cTotal == entries, $"libbpf read {cTotal} entries (result {cNs})");
                return (double)cNs / entries;
            });

        Report("map-batch-lookup", ours, theirs, "ns/entry", lowerIsBetter: true);
        Console.Error.WriteLine($"map-batch-lookup: ours allocated {allocations.Last} bytes per full read of {entries} entries");
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static (long Ns, long Total) BatchOurs(BpfHashMap<uint, ulong> map, BpfBatchCursor cursor, uint[] keys, ulong[] values)
    {
        var start = CpuClock.Now();
        cursor.Reset();
        long total = 0;
        while (!cursor.IsDone)
        {
            total += map.LookupBatch(cursor, keys, values);
        }

        return (CpuClock.Now() - start, total);
    }

    /// <summary>An mmapable u64 array of 64k elements summed through the same mapping: Span from C#, a pointer from C.</summary>
    private static void ArrayMmapRead()
    {
        const int length = 65536;
        const int passes = 200;
        using var array = BpfArrayMap<ulong>.Create("bench_mmap", length, mmapable: true);
        using var memory = array.MapMemory();
        var span = memory.Span;
        for (var i = 0; i < length; i++)
        {
            span[i] = (ulong)i;
        }

        ulong oursSum = 0;
        var (ours, theirs) = Alternate(
            () =>
            {
                var (ns, sum) = SumOurs(memory, passes);
                oursSum = sum;
                return (double)ns / ((long)length * passes);
            },
            () =>
            {
                ulong cSum;
                var cNs = s_arraySum((ulong*)Unsafe.AsPointer(ref memory[0]), length, passes, &cSum);
                Check(oursSum == 0 || cSum == oursSum, $"sums differ: {oursSum} vs {cSum}");
                return (double)cNs / ((long)length * passes);
            });

        Report("array-mmap-read", ours, theirs, "ns/element", lowerIsBetter: true);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static (long Ns, ulong Sum) SumOurs(MmapArray<ulong> memory, int passes)
    {
        var start = CpuClock.Now();
        ulong sum = 0;
        for (var p = 0; p < passes; p++)
        {
            sum += Sum(memory.Span);
        }

        return (CpuClock.Now() - start, sum);
    }

    /// <summary>
    /// Sums a span with the widest SIMD available and four independent accumulators, which is what the C compiler makes
    /// of the baseline's plain loop at -O3 -march=native.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Sum(ReadOnlySpan<ulong> values)
    {
        ulong sum = 0;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var v = MemoryMarshal.Cast<ulong, Vector512<ulong>>(values);
            Vector512<ulong> a = default, b = default, c = default, d = default;
            var j = 0;
            for (; j + 4 <= v.Length; j += 4)
            {
                a += v[j];
                b += v[j + 1];
                c += v[j + 2];
                d += v[j + 3];
            }

            for (; j < v.Length; j++)
            {
                a += v[j];
            }

            sum = Vector512.Sum(a + b + c + d);
            i = v.Length * Vector512<ulong>.Count;
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var v = MemoryMarshal.Cast<ulong, Vector256<ulong>>(values);
            Vector256<ulong> a = default, b = default, c = default, d = default;
            var j = 0;
            for (; j + 4 <= v.Length; j += 4)
            {
                a += v[j];
                b += v[j + 1];
                c += v[j + 2];
                d += v[j + 3];
            }

            for (; j < v.Length; j++)
            {
                a += v[j];
            }

            sum = Vector256.Sum(a + b + c + d);
            i = v.Length * Vector256<ulong>.Count;
        }

        for (; i < values.Length; i++)
        {
            sum += values[i];
        }

        return sum;
    }

    // ------------------------------------------------------------------ plumbing

    private static void Report(string name, double ours, double baseline, string unit, bool lowerIsBetter)
    {
        var speedup = lowerIsBetter ? baseline / ours : ours / baseline;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: ours={ours:0.###} {unit} baseline={baseline:0.###} {unit} speedup={speedup:0.###}"));
    }

    /// <summary>
    /// Runs warm-up rounds, then measured rounds in which the two sides alternate going first (the second side of a round
    /// would otherwise always find the kernel's data warm in cache), and returns the median of each side.
    /// </summary>
    private static (double Ours, double Theirs) Alternate(Func<double> ours, Func<double> theirs)
    {
        var a = new List<double>();
        var b = new List<double>();
        for (var round = -2; round < Rounds; round++)
        {
            double x, y;
            if (round % 2 == 0)
            {
                x = ours();
                y = theirs();
            }
            else
            {
                y = theirs();
                x = ours();
            }

            if (round >= 0)
            {
                a.Add(x);
                b.Add(y);
            }
        }

        return (Median(a), Median(b));
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs[xs.Count / 2];
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }

    private static string BuildBaseline([CallerFilePath] string source = "")
    {
        var dir = FindProjectDirectory(Path.GetDirectoryName(source));
        var output = Path.Combine(dir, "build");
        Directory.CreateDirectory(output);
        var library = Path.Combine(output, "libbaseline.so");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("CC") ?? "cc")
        {
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "-O3", "-march=native", "-shared", "-fPIC", "-o", library, Path.Combine(dir, "native", "baseline.c"), "-lbpf" })
        {
            psi.ArgumentList.Add(a);
        }

        using var cc = Process.Start(psi)!;
        var errors = cc.StandardError.ReadToEnd();
        cc.WaitForExit();
        if (cc.ExitCode != 0)
        {
            throw new InvalidOperationException($"building the C baseline failed (needs cc and libbpf-dev):\n{errors}");
        }

        return library;
    }

    private static string FindProjectDirectory(string? fromSource)
    {
        if (fromSource is not null && File.Exists(Path.Combine(fromSource, "native", "baseline.c")))
        {
            return fromSource;
        }

        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "benchmarks", "compare");
            if (File.Exists(Path.Combine(candidate, "native", "baseline.c")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("benchmarks/compare/native/baseline.c not found; run from the repository.");
    }
}
