// Draining a pre-filled ring buffer with the zero-copy batch reader and with a struct handler (per-record cost and allocations).
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using BpfLifecycle.Benchmarks.Shared;
using BpfLifecycle.Interop;
using BpfLifecycle.Maps;

namespace BpfLifecycle.Benchmarks;

[MemoryDiagnoser]
public class RingBufferBenchmarks
{
    private const int Records = 100_000;
    private BpfMap _map = null!;
    private RingFiller _filler = null!;
    private RingBuffer _ring = null!;

    [GlobalSetup]
    public void Setup()
    {
        _map = BpfMap.Create(new BpfMapSpec("bdn_ring", BpfMapType.RingBuf, 0, 0, 1u << 24));
        _filler = new RingFiller(_map.Handle);
        _ring = RingBuffer.Open(_map);
    }

    [IterationSetup]
    public void Fill() => _filler.Fill(Records);

    [GlobalCleanup]
    public void Cleanup()
    {
        _ring.Dispose();
        _filler.Dispose();
        _map.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public ulong DrainConsume()
    {
        var handler = new SumFirstWords();
        _ring.Consume(ref handler);
        return handler.Sum;
    }

    private struct SumFirstWords : IRingRecordHandler
    {
        public ulong Sum;

        public void OnRecord(ReadOnlySpan<byte> record) => Sum += BinaryPrimitives.ReadUInt64LittleEndian(record);
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public ulong Drain()
    {
        ulong sum = 0;
        foreach (var record in _ring.ReadBatch())
        {
            sum += BinaryPrimitives.ReadUInt64LittleEndian(record);
        }

        return sum;
    }
}
