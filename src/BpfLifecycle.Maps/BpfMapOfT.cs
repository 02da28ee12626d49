// Typed maps over unmanaged keys and values: hash, LRU hash, array and any other map with one value per key.
using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps;

/// <summary>
/// A map with <typeparamref name="TKey"/> keys and one <typeparamref name="TValue"/> per key (hash, LRU hash, array, ...).
/// Keys and values are passed to the kernel as their bytes (<see cref="MemoryMarshal.AsBytes{T}(Span{T})"/>), so their
/// sizes must equal the map's key and value sizes. Element operations allocate nothing.
/// </summary>
/// <typeparam name="TKey">Key type; its size must equal the map's key size.</typeparam>
/// <typeparam name="TValue">Value type; its size must equal the map's value size.</typeparam>
public class BpfMap<TKey, TValue> : BpfMap, IEnumerable<KeyValuePair<TKey, TValue>>
    where TKey : unmanaged
    where TValue : unmanaged
{
    /// <summary>Wraps a descriptor after checking the key and value sizes against the kernel's description.</summary>
    protected internal BpfMap(BpfMapHandle handle, BpfMapInfo info, bool ownsHandle = true) : base(handle, info, ownsHandle)
    {
        CheckLayout<TKey, TValue>(info, perCpu: false);
    }

    /// <summary>Creates a map from a spec; the spec's key and value sizes must match the types.</summary>
    public static new BpfMap<TKey, TValue> Create(BpfMapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        CheckSpec<TKey, TValue>(spec);
        return Open(Bpf.MapCreate(spec));
    }

    /// <summary>Wraps a descriptor (ownership passes to the map; it is closed if the sizes do not match).</summary>
    public static BpfMap<TKey, TValue> Open(BpfMapHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        try
        {
            return new BpfMap<TKey, TValue>(handle, Bpf.GetMapInfo(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Opens a pinned map with the given user-space access.</summary>
    public static new BpfMap<TKey, TValue> OpenPinned(string path, BpfMapAccess access = BpfMapAccess.ReadWrite)
        => Open(Bpf.GetPinnedMap(path, (BpfMapFlags)access));

    /// <summary>Looks a key up; false (and a default value) when it is missing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in TKey key, out TValue value)
    {
        value = default;
        return Bpf.MapLookup(Handle, AsBytes(in key), MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1)));
    }

    /// <summary>Looks a key up; throws <see cref="KeyNotFoundException"/> when it is missing.</summary>
    public TValue Lookup(in TKey key)
    {
        if (!TryLookup(key, out var value))
        {
            ThrowHelper.KeyNotFound(this);
        }

        return value;
    }

    /// <summary>Whether the key is present.</summary>
    public bool ContainsKey(in TKey key) => TryLookup(key, out _);

    /// <summary>Writes a value; <paramref name="flags"/> chooses create-or-replace (default), create-only or replace-only. Failures throw.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Update(in TKey key, in TValue value, BpfUpdateFlags flags = BpfUpdateFlags.Any)
        => Bpf.MapUpdate(Handle, AsBytes(in key), AsBytes(in value), flags);

    /// <summary>Creates the entry only if the key is absent (BPF_NOEXIST); false when it exists.</summary>
    public bool TryAdd(in TKey key, in TValue value) => Bpf.TryMapUpdate(Handle, AsBytes(in key), AsBytes(in value), BpfUpdateFlags.NoExist);

    /// <summary>Replaces the entry only if the key is present (BPF_EXIST); false when it is missing.</summary>
    public bool TryReplace(in TKey key, in TValue value) => Bpf.TryMapUpdate(Handle, AsBytes(in key), AsBytes(in value), BpfUpdateFlags.Exist);

    /// <summary>Deletes a key; false when it was missing.</summary>
    public bool Delete(in TKey key) => Bpf.MapDelete(Handle, AsBytes(in key));

    /// <summary>Reads and removes an entry in one step (BPF_MAP_LOOKUP_AND_DELETE_ELEM); false when it was missing.</summary>
    public bool TryLookupAndDelete(in TKey key, out TValue value)
    {
        value = default;
        return Bpf.MapLookupAndDelete(Handle, AsBytes(in key), MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1)));
    }

    /// <summary>Reads the next batch of entries; returns how many were read. See <see cref="BpfMap.LookupBatch"/>.</summary>
    public int LookupBatch(BpfBatchCursor cursor, Span<TKey> keys, Span<TValue> values)
        => LookupBatch(cursor, MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values[..Math.Min(values.Length, keys.Length)]));

    /// <summary>Reads and deletes the next batch of entries; returns how many. See <see cref="BpfMap.LookupAndDeleteBatch"/>.</summary>
    public int LookupAndDeleteBatch(BpfBatchCursor cursor, Span<TKey> keys, Span<TValue> values)
        => LookupAndDeleteBatch(cursor, MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values[..Math.Min(values.Length, keys.Length)]));

    /// <summary>Writes entries pairwise from the two spans (batch, or one by one where the kernel lacks it).</summary>
    public int UpdateBatch(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values, BpfUpdateFlags flags = BpfUpdateFlags.Any)
    {
        if (keys.Length != values.Length)
        {
            throw new ArgumentException($"{keys.Length} keys but {values.Length} values.", nameof(values));
        }

        return UpdateBatch(MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values), flags);
    }

    /// <summary>Deletes keys (batch, or one by one where the kernel lacks it); returns how many were present.</summary>
    public int DeleteBatch(ReadOnlySpan<TKey> keys) => DeleteBatch(MemoryMarshal.AsBytes(keys));

    /// <summary>
    /// The keys. The walk stays correct while entries are deleted underneath (see <see cref="BpfMap"/> iteration notes):
    /// each live key is seen at most once and entries deleted before they are reached are not returned.
    /// </summary>
    public IEnumerable<TKey> Keys
    {
        get
        {
            var it = IterateRaw();
            while (it.MoveNext())
            {
                yield return MemoryMarshal.Read<TKey>(it.Key);
            }
        }
    }

    /// <summary>Copies every entry into a dictionary.</summary>
    public Dictionary<TKey, TValue> ToDictionary()
    {
        var result = new Dictionary<TKey, TValue>();
        foreach (var (k, v) in this)
        {
            result[k] = v;
        }

        return result;
    }

    /// <summary>Walks the entries in chunks (batch lookups where possible); safe against deletion of entries underneath.</summary>
    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator()
    {
        var it = IterateRaw();
        while (it.MoveNext())
        {
            yield return new(MemoryMarshal.Read<TKey>(it.Key), MemoryMarshal.Read<TValue>(it.Value));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ReadOnlySpan<byte> AsBytes<T>(in T value) where T : unmanaged
        => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value));

    internal static void CheckLayout<TK, TV>(BpfMapInfo info, bool perCpu) where TK : unmanaged where TV : unmanaged
    {
        var isPerCpu = info.Type is BpfMapType.PerCpuHash or BpfMapType.PerCpuArray or BpfMapType.LruPerCpuHash or BpfMapType.PerCpuCgroupStorage;
        if (isPerCpu != perCpu)
        {
            throw new ArgumentException(perCpu
                ? $"Map '{info.Name}' is a {info.Type} map, not a per-CPU map: use BpfMap<TKey, TValue>."
                : $"Map '{info.Name}' is a per-CPU {info.Type} map: use BpfPerCpuMap<TKey, TValue>.");
        }

        if (Unsafe.SizeOf<TK>() != info.KeySize || Unsafe.SizeOf<TV>() != info.ValueSize)
        {
            throw new ArgumentException(
                $"Map '{info.Name}' has {info.KeySize}-byte keys and {info.ValueSize}-byte values; {typeof(TK).Name} is {Unsafe.SizeOf<TK>()} bytes and {typeof(TV).Name} is {Unsafe.SizeOf<TV>()} bytes.");
        }
    }

    internal static void CheckSpec<TK, TV>(BpfMapSpec spec) where TK : unmanaged where TV : unmanaged
    {
        if (Unsafe.SizeOf<TK>() != spec.KeySize || Unsafe.SizeOf<TV>() != spec.ValueSize)
        {
            throw new ArgumentException(
                $"Spec '{spec.Name}' has {spec.KeySize}-byte keys and {spec.ValueSize}-byte values; {typeof(TK).Name} is {Unsafe.SizeOf<TK>()} bytes and {typeof(TV).Name} is {Unsafe.SizeOf<TV>()} bytes.",
                nameof(spec));
        }
    }
}

/// <summary>A hash map (<c>BPF_MAP_TYPE_HASH</c>, or <c>LRU_HASH</c> which evicts the least recently used entry when full).</summary>
public sealed class BpfHashMap<TKey, TValue> : BpfMap<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    private BpfHashMap(BpfMapHandle handle, BpfMapInfo info) : base(handle, info)
    {
    }

    /// <summary>Creates a hash map.</summary>
    /// <param name="name">Object name (15 bytes kept).</param>
    /// <param name="maxEntries">Capacity.</param>
    /// <param name="lru">Create an LRU hash: a full map evicts instead of failing with E2BIG.</param>
    /// <param name="flags">Creation flags, e.g. <see cref="BpfMapFlags.NoPrealloc"/>.</param>
    public static BpfHashMap<TKey, TValue> Create(string name, int maxEntries, bool lru = false, BpfMapFlags flags = BpfMapFlags.None)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        var spec = new BpfMapSpec(name, lru ? BpfMapType.LruHash : BpfMapType.Hash, (uint)Unsafe.SizeOf<TKey>(), (uint)Unsafe.SizeOf<TValue>(), (uint)maxEntries, flags);
        var handle = Bpf.MapCreate(spec);
        return new BpfHashMap<TKey, TValue>(handle, Bpf.GetMapInfo(handle));
    }
}
