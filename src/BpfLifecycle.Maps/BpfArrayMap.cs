// Array maps: fixed-size, zero-initialised slots indexed by u32; optionally mmapable for direct memory access.
using System.Runtime.CompilerServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps;

/// <summary>An array map (<c>BPF_MAP_TYPE_ARRAY</c>): every index exists and starts zeroed; entries cannot be deleted.</summary>
/// <typeparam name="TValue">Value type; its size must equal the map's value size.</typeparam>
public sealed class BpfArrayMap<TValue> : BpfMap<uint, TValue>
    where TValue : unmanaged
{
    private BpfArrayMap(BpfMapHandle handle, BpfMapInfo info) : base(handle, info)
    {
        if (info.Type != BpfMapType.Array)
        {
            throw new ArgumentException($"Map '{info.Name}' is a {info.Type} map, not an array.", nameof(info));
        }
    }

    /// <summary>Creates an array map.</summary>
    /// <param name="name">Object name (15 bytes kept).</param>
    /// <param name="length">Number of elements.</param>
    /// <param name="mmapable">Create with <c>BPF_F_MMAPABLE</c> so <see cref="MapMemory"/> can expose the elements as a span.</param>
    /// <param name="flags">Further creation flags.</param>
    public static BpfArrayMap<TValue> Create(string name, int length, bool mmapable = false, BpfMapFlags flags = BpfMapFlags.None)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var spec = new BpfMapSpec(name, BpfMapType.Array, 4, (uint)Unsafe.SizeOf<TValue>(), (uint)length, flags | (mmapable ? BpfMapFlags.Mmapable : 0));
        return Open(Bpf.MapCreate(spec));
    }

    /// <summary>Wraps an array map descriptor (ownership passes to the map; it is closed if it does not fit).</summary>
    public static new BpfArrayMap<TValue> Open(BpfMapHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        try
        {
            return new BpfArrayMap<TValue>(handle, Bpf.GetMapInfo(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Opens a pinned array map.</summary>
    public static new BpfArrayMap<TValue> OpenPinned(string path, BpfMapAccess access = BpfMapAccess.ReadWrite)
        => Open(Bpf.GetPinnedMap(path, (BpfMapFlags)access));

    /// <summary>Number of elements.</summary>
    public int Length => MaxEntries;

    /// <summary>Whether the array was created with <c>BPF_F_MMAPABLE</c>.</summary>
    public bool IsMmapable => (Info.Flags & BpfMapFlags.Mmapable) != 0;

    /// <summary>Reads or writes one element through the system call path.</summary>
    public TValue this[int index]
    {
        get
        {
            CheckIndex(index);
            return Lookup((uint)index);
        }

        set
        {
            CheckIndex(index);
            Update((uint)index, value);
        }
    }

    /// <summary>
    /// Maps the array's memory (requires <c>BPF_F_MMAPABLE</c>). The mapping stays valid after this map is disposed,
    /// until the returned object is disposed.
    /// </summary>
    /// <param name="writable">Map read-write (fails for frozen maps and read-only descriptors) or read-only.</param>
    public MmapArray<TValue> MapMemory(bool writable = true)
    {
        if (!IsMmapable)
        {
            ThrowHelper.Invalid($"Array map '{Name}' was not created with BPF_F_MMAPABLE; it cannot be memory-mapped.");
        }

        return MmapArray<TValue>.Map(Handle, Length, ValueSize, writable);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)MaxEntries)
        {
            ThrowHelper.IndexOutOfRange(index, MaxEntries);
        }
    }
}
