// Per-CPU maps: one value slot per possible CPU, read and written all at once, with helpers to aggregate.
using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps;

/// <summary>
/// A per-CPU map (<c>PERCPU_HASH</c>, <c>PERCPU_ARRAY</c>, <c>LRU_PERCPU_HASH</c>): each key holds one value per possible
/// CPU. The kernel exchanges them as possible CPUs x <c>roundup(value_size, 8)</c> bytes; this type converts to and from
/// one <typeparamref name="TValue"/> per CPU.
/// </summary>
public sealed class BpfPerCpuMap<TKey, TValue> : BpfMap
    where TKey : unmanaged
    where TValue : unmanaged
{
    private readonly int _stride;

    private BpfPerCpuMap(BpfMapHandle handle, BpfMapInfo info) : base(handle, info)
    {
        BpfMap<TKey, TValue>.CheckLayout<TKey, TValue>(info, perCpu: true);
        _stride = RoundUp8(ValueSize);
    }

    /// <summary>Creates a per-CPU map.</summary>
    /// <param name="name">Object name.</param>
    /// <param name="type">PerCpuHash, PerCpuArray or LruPerCpuHash.</param>
    /// <param name="maxEntries">Capacity.</param>
    /// <param name="flags">Creation flags.</param>
    public static BpfPerCpuMap<TKey, TValue> Create(string name, BpfMapType type, int maxEntries, BpfMapFlags flags = BpfMapFlags.None)
    {
        if (type is not (BpfMapType.PerCpuHash or BpfMapType.PerCpuArray or BpfMapType.LruPerCpuHash))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Expected PerCpuHash, PerCpuArray or LruPerCpuHash.");
        }

        return Open(Bpf.MapCreate(new BpfMapSpec(name, type, (uint)Unsafe.SizeOf<TKey>(), (uint)Unsafe.SizeOf<TValue>(), (uint)maxEntries, flags)));
    }

    /// <summary>Wraps a per-CPU map descriptor (ownership passes to the map; it is closed if it does not fit).</summary>
    public static BpfPerCpuMap<TKey, TValue> Open(BpfMapHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        try
        {
            return new BpfPerCpuMap<TKey, TValue>(handle, Bpf.GetMapInfo(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Opens a pinned per-CPU map.</summary>
    public static new BpfPerCpuMap<TKey, TValue> OpenPinned(string path, BpfMapAccess access = BpfMapAccess.ReadWrite)
        => Open(Bpf.GetPinnedMap(path, (BpfMapFlags)access));

    /// <summary>Reads every CPU's value for a key into <paramref name="perCpu"/> (length <see cref="BpfMap.PossibleCpus"/>); false when missing.</summary>
    public bool TryLookup(in TKey key, Span<TValue> perCpu)
    {
        if (perCpu.Length != PossibleCpus)
        {
            ThrowHelper.ValueSize(this, PossibleCpus, perCpu.Length);
        }

        var keyBytes = BpfMap<TKey, TValue>.AsBytes(in key);
        if (_stride == ValueSize)
        {
            return Bpf.MapLookup(Handle, keyBytes, MemoryMarshal.AsBytes(perCpu));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ValueBufferSize);
        try
        {
            var span = buffer.AsSpan(0, ValueBufferSize);
            if (!Bpf.MapLookup(Handle, keyBytes, span))
            {
                return false;
            }

            for (var cpu = 0; cpu < perCpu.Length; cpu++)
            {
                perCpu[cpu] = MemoryMarshal.Read<TValue>(span[(cpu * _stride)..]);
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads every CPU's value for a key; throws <see cref="KeyNotFoundException"/> when missing.</summary>
    public PerCpuValues<TValue> Lookup(in TKey key)
    {
        var values = new TValue[PossibleCpus];
        if (!TryLookup(key, values))
        {
            ThrowHelper.KeyNotFound(this);
        }

        return new PerCpuValues<TValue>(values);
    }

    /// <summary>Writes one value per CPU (<paramref name="perCpu"/> has <see cref="BpfMap.PossibleCpus"/> elements).</summary>
    public void Update(in TKey key, ReadOnlySpan<TValue> perCpu, BpfUpdateFlags flags = BpfUpdateFlags.Any)
    {
        if (perCpu.Length != PossibleCpus)
        {
            ThrowHelper.ValueSize(this, PossibleCpus, perCpu.Length);
        }

        var keyBytes = BpfMap<TKey, TValue>.AsBytes(in key);
        if (_stride == ValueSize)
        {
            Bpf.MapUpdate(Handle, keyBytes, MemoryMarshal.AsBytes(perCpu), flags);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ValueBufferSize);
        try
        {
            var span = buffer.AsSpan(0, ValueBufferSize);
            span.Clear();
            for (var cpu = 0; cpu < perCpu.Length; cpu++)
            {
                MemoryMarshal.Write(span[(cpu * _stride)..], in perCpu[cpu]);
            }

            Bpf.MapUpdate(Handle, keyBytes, span, flags);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes the same value on every CPU (e.g. to reset counters).</summary>
    public void UpdateAll(in TKey key, TValue value, BpfUpdateFlags flags = BpfUpdateFlags.Any)
    {
        var values = ArrayPool<TValue>.Shared.Rent(PossibleCpus);
        try
        {
            values.AsSpan(0, PossibleCpus).Fill(value);
            Update(key, values.AsSpan(0, PossibleCpus), flags);
        }
        finally
        {
            ArrayPool<TValue>.Shared.Return(values);
        }
    }

    /// <summary>Deletes a key (hash types); false when missing.</summary>
    public bool Delete(in TKey key) => Bpf.MapDelete(Handle, BpfMap<TKey, TValue>.AsBytes(in key));

    /// <summary>Folds every CPU's value for a key without allocating; false when the key is missing.</summary>
    public bool TryAggregate<TAcc>(in TKey key, TAcc seed, Func<TAcc, TValue, TAcc> fold, out TAcc result)
    {
        ArgumentNullException.ThrowIfNull(fold);
        var rented = ArrayPool<TValue>.Shared.Rent(PossibleCpus);
        try
        {
            var values = rented.AsSpan(0, PossibleCpus);
            result = seed;
            if (!TryLookup(key, values))
            {
                return false;
            }

            foreach (var v in values)
            {
                result = fold(result, v);
            }

            return true;
        }
        finally
        {
            ArrayPool<TValue>.Shared.Return(rented);
        }
    }

    /// <summary>The keys (see <see cref="BpfMap{TKey, TValue}.Keys"/> for the guarantees while entries are deleted).</summary>
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

    /// <summary>Every entry with its per-CPU values.</summary>
    public IEnumerable<KeyValuePair<TKey, PerCpuValues<TValue>>> Entries
    {
        get
        {
            var it = IterateRaw();
            while (it.MoveNext())
            {
                var raw = it.Value;
                var values = new TValue[PossibleCpus];
                for (var cpu = 0; cpu < values.Length; cpu++)
                {
                    values[cpu] = MemoryMarshal.Read<TValue>(raw[(cpu * _stride)..]);
                }

                yield return new(MemoryMarshal.Read<TKey>(it.Key), new PerCpuValues<TValue>(values));
            }
        }
    }
}

/// <summary>The values of one per-CPU map entry, indexed by CPU number.</summary>
/// <typeparam name="T">Value type.</typeparam>
public sealed class PerCpuValues<T> : IReadOnlyList<T>
    where T : unmanaged
{
    private readonly T[] _values;

    /// <summary>Wraps one value per possible CPU.</summary>
    public PerCpuValues(T[] values) => _values = values ?? throw new ArgumentNullException(nameof(values));

    /// <summary>The value on one CPU.</summary>
    public T this[int cpu] => _values[cpu];

    /// <summary>Number of CPUs (possible CPUs).</summary>
    public int Count => _values.Length;

    /// <summary>The values as a span.</summary>
    public ReadOnlySpan<T> AsSpan() => _values;

    /// <summary>Folds the values.</summary>
    public TAcc Aggregate<TAcc>(TAcc seed, Func<TAcc, T, TAcc> fold)
    {
        ArgumentNullException.ThrowIfNull(fold);
        var acc = seed;
        foreach (var v in _values)
        {
            acc = fold(acc, v);
        }

        return acc;
    }

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_values).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _values.GetEnumerator();
}

/// <summary>Aggregation helpers for numeric per-CPU values.</summary>
public static class PerCpuValuesExtensions
{
    /// <summary>The sum over all CPUs.</summary>
    public static T Sum<T>(this PerCpuValues<T> values) where T : unmanaged, INumberBase<T>
    {
        ArgumentNullException.ThrowIfNull(values);
        var sum = T.Zero;
        foreach (var v in values.AsSpan())
        {
            sum += v;
        }

        return sum;
    }

    /// <summary>The largest value over all CPUs.</summary>
    public static T Max<T>(this PerCpuValues<T> values) where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(values);
        var span = values.AsSpan();
        var max = span[0];
        foreach (var v in span)
        {
            max = T.Max(max, v);
        }

        return max;
    }

    /// <summary>Sums a key's values over all CPUs without allocating; false when the key is missing.</summary>
    public static bool TrySum<TKey, T>(this BpfPerCpuMap<TKey, T> map, in TKey key, out T sum)
        where TKey : unmanaged
        where T : unmanaged, INumberBase<T>
    {
        ArgumentNullException.ThrowIfNull(map);
        var rented = ArrayPool<T>.Shared.Rent(map.PossibleCpus);
        try
        {
            var values = rented.AsSpan(0, map.PossibleCpus);
            sum = T.Zero;
            if (!map.TryLookup(key, values))
            {
                return false;
            }

            foreach (var v in values)
            {
                sum += v;
            }

            return true;
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rented);
        }
    }
}
