// Iteration that survives deletion underneath, and batch operations with their one-by-one fallback.
using BpfLifecycle.Interop;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Maps.Tests;

public sealed class IterationAndBatchTests : KernelTestBase
{
    private static BpfHashMap<uint, ulong> Filled(int count, int capacity = 0)
    {
        var map = BpfHashMap<uint, ulong>.Create("t_iter", capacity == 0 ? count : capacity);
        for (var i = 0u; i < count; i++)
        {
            map.Update(i, i * 3);
        }

        return map;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Deleting_the_current_entry_while_iterating_visits_each_key_once(bool withoutBatch)
    {
        using var map = Filled(2000);
        if (withoutBatch)
        {
            map.DisableBatchOperations();
        }

        var seen = new HashSet<uint>();
        foreach (var (key, value) in map)
        {
            Assert.True(seen.Add(key), $"key {key} seen twice");
            Assert.Equal((ulong)key * 3, value);
            Assert.True(map.Delete(key));
        }

        Assert.Equal(2000, seen.Count);
        Assert.Empty(map.Keys);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Deleting_entries_ahead_of_the_iteration_neither_restarts_nor_skips_live_keys(bool withoutBatch)
    {
        using var map = Filled(3000, 4096);
        if (withoutBatch)
        {
            map.DisableBatchOperations();
        }

        var seen = new HashSet<uint>();
        var deletedAhead = new HashSet<uint>();
        foreach (var key in map.Keys)
        {
            Assert.True(seen.Add(key), $"key {key} seen twice");
            // Delete the key's partner if not yet visited. It may still come from the chunk already read, but the walk
            // must not start over, and every key that stays in the map must be visited.
            var partner = key ^ 1;
            if (!seen.Contains(partner) && map.Delete(partner))
            {
                deletedAhead.Add(partner);
            }
        }

        Assert.True(deletedAhead.Count > 0);
        var remaining = map.Keys.ToHashSet();
        Assert.Equal(3000 - deletedAhead.Count, remaining.Count);
        Assert.Subset(seen, remaining);
        Assert.True(seen.Count <= 3000);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batch_update_lookup_and_delete(bool withoutBatch)
    {
        using var map = BpfHashMap<uint, ulong>.Create("t_batch", 10_000);
        if (withoutBatch)
        {
            map.DisableBatchOperations();
        }

        var keys = Enumerable.Range(0, 5000).Select(i => (uint)i * 7).ToArray();
        var values = keys.Select(k => (ulong)k << 20).ToArray();
        Assert.Equal(5000, map.UpdateBatch(keys, values));
        Assert.Equal(!withoutBatch, map.BatchSupported);

        var cursor = new BpfBatchCursor();
        var readKeys = new uint[512];
        var readValues = new ulong[512];
        var all = new Dictionary<uint, ulong>();
        while (!cursor.IsDone)
        {
            var n = map.LookupBatch(cursor, readKeys, readValues);
            for (var i = 0; i < n; i++)
            {
                Assert.True(all.TryAdd(readKeys[i], readValues[i]));
            }
        }

        Assert.Equal(keys.Zip(values).ToDictionary(p => p.First, p => p.Second), all);

        // Deleting with some keys missing removes the present ones and reports how many there were.
        var toDelete = keys.Take(100).Append(3u).Concat(keys.Skip(100).Take(100)).ToArray();
        Assert.Equal(200, map.DeleteBatch(toDelete));
        Assert.Equal(4800, map.Keys.Count());

        cursor.Reset();
        var drained = 0;
        while (!cursor.IsDone)
        {
            drained += map.LookupAndDeleteBatch(cursor, readKeys, readValues);
        }

        Assert.Equal(4800, drained);
        Assert.Empty(map.Keys);
    }

    [Fact]
    public void Batch_on_a_map_type_without_batch_support_falls_back()
    {
        using var slots = ProgramArray.Create("t_pa", 4);
        var cursor = new BpfBatchCursor();
        var keys = new byte[16];
        var values = new byte[16];
        // A program array with empty slots: the walk visits the indices but finds no programs.
        var n = slots.LookupBatch(cursor, keys, values);
        Assert.Equal(0, n);
        Assert.True(cursor.IsDone);
    }

    [Fact]
    public void Array_batches_read_every_index()
    {
        using var array = BpfArrayMap<ulong>.Create("t_abatch", 1000);
        array.UpdateBatch(Enumerable.Range(0, 1000).Select(i => (uint)i).ToArray(), Enumerable.Range(0, 1000).Select(i => (ulong)i + 1).ToArray());
        var d = array.ToDictionary();
        Assert.Equal(1000, d.Count);
        Assert.All(d, kv => Assert.Equal((ulong)kv.Key + 1, kv.Value));
    }

    [Fact]
    public void Element_operations_allocate_nothing()
    {
        using var map = BpfHashMap<uint, ulong>.Create("t_alloc", 1024);
        using var pcpu = BpfPerCpuMap<uint, ulong>.Create("t_allocp", BpfMapType.PerCpuArray, 4);
        using var array = BpfArrayMap<ulong>.Create("t_allocm", 1024, mmapable: true);
        using var memory = array.MapMemory();
        Run(1);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var sum = Run(1000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(sum > 0);

        ulong Run(int rounds)
        {
            ulong acc = 0;
            for (var r = 0; r < rounds; r++)
            {
                var k = (uint)(r % 1024);
                map.Update(k, (ulong)r + 1);
                map.TryLookup(k, out var v);
                acc += v;
                map.TryAdd(k, 1);
                map.TryLookupAndDelete(k, out v);
                map.Delete(k);
                pcpu.TrySum(1u, out var s);
                acc += s;
                foreach (var x in memory.Span)
                {
                    acc += x;
                }
            }

            return acc;
        }
    }
}
