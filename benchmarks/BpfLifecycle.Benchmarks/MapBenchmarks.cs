// Element, batch and mmap access of typed maps, with allocations measured by the memory diagnoser.
using BenchmarkDotNet.Attributes;
using BpfLifecycle.Maps;

namespace BpfLifecycle.Benchmarks;

[MemoryDiagnoser]
public class MapBenchmarks
{
    private const int Keys = 1024;
    private BpfHashMap<uint, ulong> _hash = null!;
    private BpfHashMap<uint, ulong> _big = null!;
    private BpfArrayMap<ulong> _array = null!;
    private MmapArray<ulong> _memory = null!;
    private BpfPerCpuMap<uint, ulong> _perCpu = null!;
    private readonly BpfBatchCursor _cursor = new();
    private readonly uint[] _keys = new uint[8192];
    private readonly ulong[] _values = new ulong[8192];
    private uint _next;

    [GlobalSetup]
    public void Setup()
    {
        _hash = BpfHashMap<uint, ulong>.Create("bdn_hash", Keys);
        for (var i = 0u; i < Keys; i++)
        {
            _hash.Update(i, i);
        }

        _big = BpfHashMap<uint, ulong>.Create("bdn_big", 65536);
        var keys = Enumerable.Range(0, 65536).Select(i => (uint)i).ToArray();
        _big.UpdateBatch(keys, keys.Select(k => (ulong)k).ToArray());
        _array = BpfArrayMap<ulong>.Create("bdn_mmap", 65536, mmapable: true);
        _memory = _array.MapMemory();
        _perCpu = BpfPerCpuMap<uint, ulong>.Create("bdn_pcpu", Interop.BpfMapType.PerCpuArray, 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _memory.Dispose();
        _array.Dispose();
        _hash.Dispose();
        _big.Dispose();
        _perCpu.Dispose();
    }

    [Benchmark]
    public ulong HashLookup()
    {
        _hash.TryLookup(_next++ & (Keys - 1), out var v);
        return v;
    }

    [Benchmark]
    public void HashUpdate() => _hash.Update(_next++ & (Keys - 1), _next);

    [Benchmark]
    public ulong PerCpuSum()
    {
        _perCpu.TrySum(0u, out var sum);
        return sum;
    }

    [Benchmark]
    public long BatchLookup64k()
    {
        _cursor.Reset();
        long total = 0;
        while (!_cursor.IsDone)
        {
            total += _big.LookupBatch(_cursor, _keys, _values);
        }

        return total;
    }

    [Benchmark]
    public ulong MmapArraySum64k()
    {
        ulong sum = 0;
        foreach (var v in _memory.Span)
        {
            sum += v;
        }

        return sum;
    }
}
