// Typed maps against kernel semantics: hash, LRU, array, mmapable array, per-CPU, program array, pins, freeze.
using BpfLifecycle.Interop;
using BpfLifecycle.Maps.Tests.Support;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Maps.Tests;

public sealed class MapTests : KernelTestBase
{
    [Fact]
    public void Hash_map_lookup_update_flags_delete_and_lookup_and_delete()
    {
        using var map = BpfHashMap<uint, ulong>.Create("t_hash", 4);
        Assert.False(map.TryLookup(1, out var missing));
        Assert.Equal(0UL, missing);
        Assert.Throws<KeyNotFoundException>(() => map.Lookup(1));

        Assert.True(map.TryAdd(1, 10));
        Assert.False(map.TryAdd(1, 11));
        Assert.Equal(10UL, map.Lookup(1));
        Assert.True(map.TryReplace(1, 12));
        Assert.False(map.TryReplace(2, 20));
        Assert.False(map.ContainsKey(2));
        var exists = Assert.Throws<BpfException>(() => map.Update(1, 13, BpfUpdateFlags.NoExist));
        Assert.Equal(Errno.EEXIST, exists.Errno);
        var absent = Assert.Throws<BpfException>(() => map.Update(2, 13, BpfUpdateFlags.Exist));
        Assert.Equal(Errno.ENOENT, absent.Errno);
        map.Update(2, 20);
        map.Update(3, 30);
        map.Update(4, 40);
        var full = Assert.Throws<BpfException>(() => map.Update(5, 50));
        Assert.Equal(Errno.E2BIG, full.Errno);

        Assert.True(map.TryLookupAndDelete(2, out var taken));
        Assert.Equal(20UL, taken);
        Assert.False(map.ContainsKey(2));
        Assert.False(map.TryLookupAndDelete(2, out _));
        Assert.True(map.Delete(3));
        Assert.False(map.Delete(3));
        Assert.Equal(new Dictionary<uint, ulong> { [1] = 12, [4] = 40 }, map.ToDictionary());
    }

    [Fact]
    public void Raw_span_access_checks_sizes_and_matches_typed_access()
    {
        using var map = BpfHashMap<uint, ulong>.Create("t_raw", 8);
        map.Update(BitConverter.GetBytes(7u), BitConverter.GetBytes(77UL));
        Assert.Equal(77UL, map.Lookup(7));
        Span<byte> value = stackalloc byte[8];
        Assert.True(map.TryLookup(BitConverter.GetBytes(7u), value));
        Assert.Equal(77UL, BitConverter.ToUInt64(value));
        var e = Assert.Throws<ArgumentException>(() => map.Update(new byte[8], new byte[8]));
        Assert.Contains("4-byte keys", e.Message, StringComparison.Ordinal);
        var v = Assert.Throws<ArgumentException>(() => map.TryLookup(new byte[4], new byte[4]));
        Assert.Contains("8-byte value", v.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Typed_map_rejects_mismatched_key_or_value_types()
    {
        using var raw = BpfMap.Create(new BpfMapSpec("t_sz", BpfMapType.Hash, 4, 8, 4));
        var e = Assert.Throws<ArgumentException>(() => BpfMap<uint, uint>.Create(new BpfMapSpec("t_sz", BpfMapType.Hash, 4, 8, 4)));
        Assert.Contains("8-byte values", e.Message, StringComparison.Ordinal);
        var pcpu = Assert.Throws<ArgumentException>(() => BpfMap<uint, ulong>.Create(new BpfMapSpec("t_pc", BpfMapType.PerCpuArray, 4, 8, 4)));
        Assert.Contains("BpfPerCpuMap", pcpu.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lru_hash_evicts_instead_of_failing_when_full()
    {
        using var map = BpfHashMap<uint, ulong>.Create("t_lru", 64, lru: true);
        Assert.Equal(BpfMapType.LruHash, map.Type);
        for (var i = 0u; i < 1000; i++)
        {
            map.Update(i, i);
        }

        var keys = map.Keys.ToList();
        Assert.InRange(keys.Count, 1, 64);
        Assert.Contains(999u, keys);
        Assert.All(keys, k => Assert.Equal((ulong)k, map.Lookup(k)));
    }

    [Fact]
    public void Hash_without_prealloc_behaves_the_same()
    {
        using var map = BpfHashMap<ulong, int>.Create("t_nopre", 100, flags: BpfMapFlags.NoPrealloc);
        Assert.Equal(BpfMapFlags.NoPrealloc, map.Info.Flags & BpfMapFlags.NoPrealloc);
        map.Update(1UL << 40, -5);
        Assert.Equal(-5, map.Lookup(1UL << 40));
    }

    [Fact]
    public void Array_map_has_every_index_zeroed_and_refuses_deletes()
    {
        using var array = BpfArrayMap<ulong>.Create("t_arr", 16);
        Assert.Equal(16, array.Length);
        Assert.Equal(0UL, array[15]);
        array[3] = 33;
        Assert.Equal(33UL, array[3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => array[16]);
        var del = Assert.Throws<BpfException>(() => array.Delete(3));
        Assert.Equal(Errno.EINVAL, del.Errno);
        Assert.False(array.TryAdd(3, 1)); // every index exists
        var entries = array.ToList();
        Assert.Equal(16, entries.Count);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (uint)i), entries.Select(e => e.Key));
        Assert.Equal(33UL, entries[3].Value);
    }

    [Fact]
    public void Mmapable_array_exposes_elements_as_a_span_shared_with_bpf()
    {
        using var array = BpfArrayMap<ulong>.Create("t_mmap", 1024, mmapable: true);
        using var memory = array.MapMemory();
        var span = memory.Span;
        Assert.Equal(1024, span.Length);
        span[10] = 1234;
        Assert.Equal(1234UL, array[10]);
        array[20] = 99;
        Assert.Equal(99UL, memory.Span[20]);

        using var writer = Programs.ArrayWriter(array, 30, 0xABCD);
        TestRun.Run(writer);
        Assert.Equal(0xABCDUL, Volatile.Read(ref memory[30]));
    }

    [Fact]
    public void Mmap_needs_the_flag_and_small_values_use_the_kernel_stride()
    {
        using var plain = BpfArrayMap<ulong>.Create("t_plain", 4);
        var e = Assert.Throws<InvalidOperationException>(() => plain.MapMemory());
        Assert.Contains("BPF_F_MMAPABLE", e.Message, StringComparison.Ordinal);

        using var small = BpfArrayMap<uint>.Create("t_small", 8, mmapable: true);
        using var memory = small.MapMemory();
        small[5] = 55;
        Assert.Equal(55u, memory[5]);
        memory[6] = 66;
        Assert.Equal(66u, small[6]);
        Assert.Throws<InvalidOperationException>(() => memory.Span.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => memory[8]);
        memory.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory[0]);
    }

    [Fact]
    public void Frozen_map_refuses_user_writes_and_writable_mappings()
    {
        using var array = BpfArrayMap<ulong>.Create("t_frz", 4, mmapable: true);
        array[1] = 11;
        array.Freeze();
        var e = Assert.Throws<BpfException>(() => array[1] = 12);
        Assert.Equal(Errno.EPERM, e.Errno);
        Assert.Throws<BpfException>(() => array.MapMemory(writable: true));
        using var ro = array.MapMemory(writable: false);
        Assert.Equal(11UL, ro.Span[1]);
        Assert.False(ro.IsWritable);
    }

    [Fact]
    public void Per_cpu_maps_hold_a_value_per_possible_cpu_and_aggregate()
    {
        var cpus = Bpf.PossibleCpuCount;
        using var map = BpfPerCpuMap<uint, ulong>.Create("t_pch", BpfMapType.PerCpuHash, 8);
        Assert.Equal(cpus, map.PossibleCpus);
        var values = Enumerable.Range(1, cpus).Select(i => (ulong)i * 10).ToArray();
        map.Update(5, values);
        var read = map.Lookup(5);
        Assert.Equal(values, read.AsSpan().ToArray());
        Assert.Equal(values.Aggregate(0UL, (a, b) => a + b), read.Sum());
        Assert.Equal((ulong)cpus * 10, read.Max());
        Assert.True(map.TrySum(5u, out var sum));
        Assert.Equal(read.Sum(), sum);
        Assert.False(map.TrySum(6u, out _));
        map.UpdateAll(6, 7);
        Assert.Equal(7UL * (ulong)cpus, map.Lookup(6).Sum());
        Assert.Equal([5u, 6u], map.Keys.Order().ToArray());
        Assert.Equal(2, map.Entries.Count());
        Assert.True(map.Delete(5));
        Assert.Throws<KeyNotFoundException>(() => map.Lookup(5));
        Assert.Throws<ArgumentException>(() => map.Update(1, new ulong[cpus + 1]));
    }

    [Fact]
    public void Per_cpu_values_smaller_than_8_bytes_round_trip()
    {
        var cpus = Bpf.PossibleCpuCount;
        using var map = BpfPerCpuMap<uint, int>.Create("t_pca", BpfMapType.PerCpuArray, 2);
        var values = Enumerable.Range(0, cpus).Select(i => -i - 1).ToArray();
        map.Update(1, values);
        Assert.Equal(values, map.Lookup(1).ToArray());
        Assert.Equal(values.Sum(), map.Lookup(1).Sum());
        Assert.Equal(0, map.Lookup(0).Sum());
        Assert.True(map.TryAggregate(1, 0L, (acc, v) => acc + Math.Abs(v), out var abs));
        Assert.Equal(values.Sum(v => (long)Math.Abs(v)), abs);
    }

    [Fact]
    public void Per_cpu_counters_bumped_by_bpf_sum_to_the_run_count()
    {
        using var map = BpfPerCpuMap<uint, ulong>.Create("t_pcc", BpfMapType.PerCpuArray, 1);
        using var prog = Programs.PerCpuIncrement(map);
        var runs = 0u;
        for (var i = 0; i < 20; i++)
        {
            // Runs land on whichever CPU the thread is on; the sum must not care.
            TestRun.Run(prog, 500);
            runs += 500;
            Thread.Yield();
        }

        Assert.True(map.TrySum(0u, out var total));
        Assert.Equal((ulong)runs, total);
    }

    [Fact]
    public void Lru_per_cpu_hash_is_a_per_cpu_map()
    {
        using var map = BpfPerCpuMap<ulong, ulong>.Create("t_lpc", BpfMapType.LruPerCpuHash, 16);
        map.UpdateAll(1, 3);
        Assert.Equal(3UL * (ulong)map.PossibleCpus, map.Lookup(1).Sum());
    }

    [Fact]
    public void Program_array_slots_route_tail_calls()
    {
        using var slots = ProgramArray.Create("t_parr", 4);
        using var target = Programs.Returning(7);
        using var entry = Programs.TailCaller(slots, 2);
        Assert.Equal(1u, TestRun.Run(entry));
        Assert.False(slots.TryGetProgramId(2, out _));

        slots.Set(2, target);
        Assert.True(slots.TryGetProgramId(2, out var id));
        Assert.Equal(Bpf.GetProgramInfo(target).Id, id);
        Assert.Equal(7u, TestRun.Run(entry));

        Assert.True(slots.Clear(2));
        Assert.False(slots.Clear(2));
        Assert.Equal(1u, TestRun.Run(entry));
        Assert.Throws<ArgumentOutOfRangeException>(() => slots.Set(4, target));
    }

    [Fact]
    public void Pinned_maps_open_read_only_or_write_only()
    {
        var dir = NewPinDirectory();
        var path = Path.Combine(dir, "state");
        using (var map = BpfHashMap<uint, ulong>.Create("t_pin", 8))
        {
            map.Update(1, 100);
            map.Pin(path);
        }

        using var ro = BpfMap<uint, ulong>.OpenPinned(path, BpfMapAccess.ReadOnly);
        Assert.Equal(100UL, ro.Lookup(1));
        Assert.Equal(Errno.EPERM, Assert.Throws<BpfException>(() => ro.Update(2, 1)).Errno);
        Assert.Equal(Errno.EPERM, Assert.Throws<BpfException>(() => ro.Delete(1)).Errno);

        using var wo = BpfMap<uint, ulong>.OpenPinned(path, BpfMapAccess.WriteOnly);
        wo.Update(2, 200);
        Assert.Equal(Errno.EPERM, Assert.Throws<BpfException>(() => wo.Lookup(2)).Errno);
        Assert.Equal(200UL, ro.Lookup(2));

        using var untyped = BpfMap.OpenPinned(path);
        Assert.Equal(BpfMapType.Hash, untyped.Type);
        Assert.Throws<ArgumentException>(() => BpfArrayMap<ulong>.OpenPinned(path));
    }

    [Fact]
    public void Compatibility_check_reports_a_readable_diff()
    {
        var spec = new BpfMapSpec("state", BpfMapType.Hash, 4, 8, 1024);
        using var same = BpfMap.Create(spec);
        var ok = MapCompatibility.Check(spec, same);
        Assert.True(ok.IsCompatible);
        Assert.Equal("compatible", ok.ToString());

        var wanted = spec with { KeySize = 8, MaxEntries = 2048, Type = BpfMapType.LruHash };
        var diff = MapCompatibility.Check(wanted, same.Info);
        Assert.False(diff.IsCompatible);
        Assert.Equal(["Type: Hash changed to LruHash", "KeySize: 4 changed to 8", "MaxEntries: 1024 changed to 2048"], diff.Differences.Select(d => d.ToString()));
        var e = Assert.Throws<MapIncompatibleException>(() => MapCompatibility.EnsureCompatible(wanted, same.ReadInfo()));
        Assert.Contains("KeySize: 4 changed to 8", e.Message, StringComparison.Ordinal);

        using var flagged = BpfMap.Create(spec with { Flags = BpfMapFlags.NoPrealloc });
        Assert.Equal("Flags: NoPrealloc changed to None", MapCompatibility.Check(spec, flagged).ToString());
    }
}
