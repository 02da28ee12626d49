// The untyped map: owns a descriptor and the kernel's description of it, and offers Span-based raw access.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps;

/// <summary>
/// A BPF map seen through its descriptor. Raw operations take keys and values as byte spans; the typed
/// subclasses (<see cref="BpfMap{TKey, TValue}"/>, <see cref="BpfPerCpuMap{TKey, TValue}"/>, <see cref="BpfArrayMap{TValue}"/>,
/// <see cref="ProgramArray"/>) add <c>unmanaged</c> keys and values over the same calls. Thread-safe as the kernel is:
/// every operation is one system call.
/// </summary>
public class BpfMap : IDisposable
{
    private readonly bool _ownsHandle;
    private int _batchSupport; // 0 unknown, 1 supported, -1 not supported

    /// <summary>Wraps a descriptor and the kernel's information about it.</summary>
    /// <param name="handle">The map descriptor.</param>
    /// <param name="info">What the kernel reports of the map.</param>
    /// <param name="ownsHandle">Whether disposing this object closes <paramref name="handle"/>.</param>
    protected BpfMap(BpfMapHandle handle, BpfMapInfo info, bool ownsHandle = true)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentNullException.ThrowIfNull(info);
        Handle = handle;
        Info = info;
        _ownsHandle = ownsHandle;
        IsPerCpu = info.Type is BpfMapType.PerCpuHash or BpfMapType.PerCpuArray or BpfMapType.LruPerCpuHash or BpfMapType.PerCpuCgroupStorage;
        PossibleCpus = IsPerCpu ? Bpf.PossibleCpuCount : 1;
        ValueBufferSize = IsPerCpu ? PossibleCpus * RoundUp8((int)info.ValueSize) : (int)info.ValueSize;
    }

    /// <summary>The descriptor.</summary>
    public BpfMapHandle Handle { get; }

    /// <summary>What the kernel reported when the map was opened.</summary>
    public BpfMapInfo Info { get; }

    /// <summary>The map name as the kernel kept it.</summary>
    public string Name => Info.Name;

    /// <summary>Map type.</summary>
    public BpfMapType Type => Info.Type;

    /// <summary>Key size in bytes.</summary>
    public int KeySize => (int)Info.KeySize;

    /// <summary>Value size in bytes (for per-CPU maps: per CPU).</summary>
    public int ValueSize => (int)Info.ValueSize;

    /// <summary>Capacity (bytes for ring buffers).</summary>
    public int MaxEntries => (int)Info.MaxEntries;

    /// <summary>Whether values come in one slot per possible CPU.</summary>
    public bool IsPerCpu { get; }

    /// <summary>Slots per value: the possible CPU count for per-CPU maps, otherwise 1.</summary>
    public int PossibleCpus { get; }

    /// <summary>
    /// Bytes a value buffer must hold for raw lookups and updates: the value size, or for per-CPU maps
    /// possible CPUs x the value size rounded up to 8.
    /// </summary>
    public int ValueBufferSize { get; }

    /// <summary>Creates a map from a spec.</summary>
    public static BpfMap Create(BpfMapSpec spec) => FromHandle(Bpf.MapCreate(spec));

    /// <summary>Wraps a descriptor (ownership passes to the returned map).</summary>
    public static BpfMap FromHandle(BpfMapHandle handle) => new(handle, Bpf.GetMapInfo(handle));

    /// <summary>Opens a pinned map with the given user-space access.</summary>
    public static BpfMap OpenPinned(string path, BpfMapAccess access = BpfMapAccess.ReadWrite)
        => FromHandle(Bpf.GetPinnedMap(path, (BpfMapFlags)access));

    /// <summary>Pins the map at a path inside a bpffs mount.</summary>
    public void Pin(string path) => Bpf.Pin(Handle, path);

    /// <summary>Freezes the map: from now on user space can no longer write it (programs still can).</summary>
    public void Freeze() => Bpf.MapFreeze(Handle);

    /// <summary>The kernel's current information about the map (re-read).</summary>
    public BpfMapInfo ReadInfo() => Bpf.GetMapInfo(Handle);

    // ------------------------------------------------------------ raw element access

    /// <summary>Looks a key up; false when it is missing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key.Length);
        CheckValue(value.Length);
        return Bpf.MapLookup(Handle, key, value);
    }

    /// <summary>Writes a value; the flags choose create-or-replace, create-only or replace-only (failures throw).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, BpfUpdateFlags flags = BpfUpdateFlags.Any)
    {
        CheckKey(key.Length);
        CheckValue(value.Length);
        Bpf.MapUpdate(Handle, key, value, flags);
    }

    /// <summary>Writes a value; returns false instead of throwing when the flags' condition fails (key exists / is missing).</summary>
    public bool TryUpdate(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, BpfUpdateFlags flags)
    {
        CheckKey(key.Length);
        CheckValue(value.Length);
        return Bpf.TryMapUpdate(Handle, key, value, flags);
    }

    /// <summary>Deletes a key; false when it was missing.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key.Length);
        return Bpf.MapDelete(Handle, key);
    }

    /// <summary>Reads and deletes a key atomically; false when it was missing.</summary>
    public bool TryLookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key.Length);
        CheckValue(value.Length);
        return Bpf.MapLookupAndDelete(Handle, key, value);
    }

    /// <summary>The key after <paramref name="key"/> (or the first key when <paramref name="key"/> is empty); false after the last.</summary>
    public bool TryGetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty)
        {
            CheckKey(key.Length);
        }

        CheckKey(nextKey.Length);
        return Bpf.MapGetNextKey(Handle, key, nextKey);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void CheckKey(int length)
    {
        if (length != KeySize)
        {
            ThrowHelper.KeySize(this, length);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void CheckValue(int length)
    {
        if (length != ValueBufferSize)
        {
            ThrowHelper.ValueSize(this, ValueBufferSize, length);
        }
    }

    // ------------------------------------------------------------ raw batches

    /// <summary>
    /// Reads the next batch of entries into <paramref name="keys"/> and <paramref name="values"/> (whole entries only).
    /// Uses BPF_MAP_LOOKUP_BATCH where the kernel has it for this map type, otherwise walks keys one by one.
    /// Returns the number of entries read; <see cref="BpfBatchCursor.IsDone"/> turns true after the last batch.
    /// </summary>
    public int LookupBatch(BpfBatchCursor cursor, Span<byte> keys, Span<byte> values)
        => ReadBatch(cursor, keys, values, delete: false);

    /// <summary>Like <see cref="LookupBatch"/> but deletes what it returns (BPF_MAP_LOOKUP_AND_DELETE_BATCH or one by one).</summary>
    public int LookupAndDeleteBatch(BpfBatchCursor cursor, Span<byte> keys, Span<byte> values)
        => ReadBatch(cursor, keys, values, delete: true);

    private int ReadBatch(BpfBatchCursor cursor, Span<byte> keys, Span<byte> values, bool delete)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        var capacity = Math.Min(keys.Length / KeySize, values.Length / ValueBufferSize);
        if (capacity <= 0)
        {
            throw new ArgumentException($"The buffers of map '{Name}' must hold at least one entry ({KeySize}-byte keys, {ValueBufferSize}-byte values).", nameof(keys));
        }

        if (cursor.IsDone)
        {
            return 0;
        }

        cursor.Prepare(KeySize);
        if (_batchSupport >= 0 && !cursor.ManualWalk)
        {
            var count = (uint)capacity;
            var command = delete ? BpfCommand.MapLookupAndDeleteBatch : BpfCommand.MapLookupBatch;
            try
            {
                var more = Bpf.MapBatch(command, Handle, cursor.Started ? cursor.InBatch : default, cursor.OutBatch, keys, values, ref count);
                _batchSupport = 1;
                cursor.Advance(more);
                return (int)count;
            }
            catch (BpfException e) when (_batchSupport == 0 && IsUnsupported(e.Errno) && !cursor.Started)
            {
                _batchSupport = -1;
            }
        }

        return WalkBatch(cursor, keys, values, capacity, delete);
    }

    private int WalkBatch(BpfBatchCursor cursor, Span<byte> keys, Span<byte> values, int capacity, bool delete)
    {
        cursor.ManualWalk = true;
        var pending = cursor.LastKey;
        if (!cursor.Started)
        {
            cursor.Started = true;
            if (!Bpf.MapGetNextKey(Handle, default, pending))
            {
                cursor.Finish();
                return 0;
            }
        }

        else if (!Bpf.MapLookup(Handle, pending, values[..ValueBufferSize]))
        {
            // The key prefetched last time was deleted since: BPF_MAP_GET_NEXT_KEY on it would start over from the first
            // key. Continue after the latest key of the previous chunk that still exists instead.
            if (!ResumeAfterDeletedKey(cursor, pending, values[..ValueBufferSize], delete))
            {
                cursor.Finish();
                return 0;
            }
        }

        var n = 0;
        while (n < capacity)
        {
            var key = keys.Slice(n * KeySize, KeySize);
            pending.CopyTo(key);

            // The next key is fetched before this entry is handed out (or deleted), so removing it later cannot send
            // BPF_MAP_GET_NEXT_KEY back to the first key.
            var hasNext = Bpf.MapGetNextKey(Handle, key, pending);
            var value = values.Slice(n * ValueBufferSize, ValueBufferSize);
            if (delete ? Bpf.MapLookupAndDelete(Handle, key, value) : Bpf.MapLookup(Handle, key, value))
            {
                n++;
            }

            if (!hasNext)
            {
                cursor.Finish();
                break;
            }
        }

        if (!delete)
        {
            cursor.RememberChunk(keys[..(n * KeySize)]);
        }

        return n;
    }

    private bool ResumeAfterDeletedKey(BpfBatchCursor cursor, Span<byte> pending, Span<byte> scratch, bool delete)
    {
        if (!delete)
        {
            var previous = cursor.PreviousChunk;
            for (var i = previous.Length / KeySize - 1; i >= 0; i--)
            {
                var candidate = previous.Slice(i * KeySize, KeySize);
                if (Bpf.MapLookup(Handle, candidate, scratch))
                {
                    return Bpf.MapGetNextKey(Handle, candidate, pending);
                }
            }
        }

        // Deleting walk: everything before was removed, so starting from the first key is exact. Otherwise every key of
        // the previous chunk is gone too and the first key is the only place left to continue from.
        return Bpf.MapGetNextKey(Handle, default, pending);
    }

    /// <summary>Writes entries (BPF_MAP_UPDATE_BATCH, or one by one where the kernel lacks it). Returns the count written.</summary>
    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, BpfUpdateFlags flags = BpfUpdateFlags.Any)
    {
        var n = keys.Length / KeySize;
        if (keys.Length % KeySize != 0 || values.Length != n * ValueBufferSize)
        {
            throw new ArgumentException($"Map '{Name}': {keys.Length} key bytes and {values.Length} value bytes do not form whole entries ({KeySize}-byte keys, {ValueBufferSize}-byte values).", nameof(values));
        }

        if (n == 0)
        {
            return 0;
        }

        if (_batchSupport >= 0)
        {
            var count = (uint)n;
            try
            {
                Bpf.MapUpdateBatch(Handle, keys, values, ref count, flags);
                _batchSupport = 1;
                return (int)count;
            }
            catch (BpfException e) when (_batchSupport == 0 && count == 0 && IsUnsupported(e.Errno))
            {
                _batchSupport = -1;
            }
        }

        for (var i = 0; i < n; i++)
        {
            Bpf.MapUpdate(Handle, keys.Slice(i * KeySize, KeySize), values.Slice(i * ValueBufferSize, ValueBufferSize), flags);
        }

        return n;
    }

    /// <summary>Deletes keys (BPF_MAP_DELETE_BATCH, or one by one where the kernel lacks it). Returns the count deleted.</summary>
    public int DeleteBatch(ReadOnlySpan<byte> keys)
    {
        var n = keys.Length / KeySize;
        if (keys.Length % KeySize != 0)
        {
            throw new ArgumentException($"Map '{Name}': {keys.Length} key bytes are not whole {KeySize}-byte keys.", nameof(keys));
        }

        if (n == 0)
        {
            return 0;
        }

        if (_batchSupport >= 0)
        {
            var count = (uint)n;
            try
            {
                // DELETE_BATCH only reads the keys buffer; the API takes a writable span for the lookup commands.
                var keyBuffer = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(keys), keys.Length);
                var complete = Bpf.MapBatch(BpfCommand.MapDeleteBatch, Handle, default, default, keyBuffer, default, ref count);
                _batchSupport = 1;
                if (complete)
                {
                    return (int)count;
                }

                // ENOENT: key number 'count' was missing and stopped the batch; the keys after it still go.
                var deleted = (int)count;
                for (var i = deleted + 1; i < n; i++)
                {
                    deleted += Bpf.MapDelete(Handle, keys.Slice(i * KeySize, KeySize)) ? 1 : 0;
                }

                return deleted;
            }
            catch (BpfException e) when (_batchSupport == 0 && IsUnsupported(e.Errno))
            {
                _batchSupport = -1;
            }
        }

        var done = 0;
        for (var i = 0; i < n; i++)
        {
            done += Bpf.MapDelete(Handle, keys.Slice(i * KeySize, KeySize)) ? 1 : 0;
        }

        return done;
    }

    /// <summary>Whether the kernel supported batch operations on this map the last time they were tried (null: not tried yet).</summary>
    public bool? BatchSupported => _batchSupport == 0 ? null : _batchSupport > 0;

    /// <summary>Makes the batch methods walk elements one by one (what they do on kernels without batch operations).</summary>
    public void DisableBatchOperations() => _batchSupport = -1;

    private static bool IsUnsupported(int errno) => errno is Errno.EINVAL or 95 /* EOPNOTSUPP */ or 524 /* ENOTSUPP */ or 38 /* ENOSYS */;

    // ------------------------------------------------------------ iteration

    /// <summary>
    /// Walks the map's entries as raw bytes, chunk by chunk. Hash-type maps are read with batch lookups, whose cursor is a
    /// bucket position the kernel keeps valid while entries are deleted underneath; other maps (and kernels without batch
    /// operations) walk keys with the next key fetched before the current entry is handed out, so deleting the current entry
    /// during iteration does not restart the walk.
    /// </summary>
    internal RawMapIterator IterateRaw(int chunk = 256) => new(this, chunk);

    internal static int RoundUp8(int n) => (n + 7) & ~7;

    /// <summary>Closes the descriptor (if owned). Kernel objects live on while pinned or referenced by programs.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the descriptor.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing && _ownsHandle)
        {
            Handle.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type} map '{Name}' (key {KeySize}, value {ValueSize}, max {MaxEntries})";
}

/// <summary>Position of a batch walk over a map. Create one per walk; <see cref="Reset"/> starts over.</summary>
public sealed class BpfBatchCursor
{
    private byte[] _in = Array.Empty<byte>();
    private byte[] _out = Array.Empty<byte>();
    private byte[] _last = Array.Empty<byte>();

    /// <summary>True once the last batch was returned.</summary>
    public bool IsDone { get; private set; }

    internal bool Started { get; set; }

    internal bool ManualWalk { get; set; }

    internal Span<byte> InBatch => _in;

    internal Span<byte> OutBatch => _out;

    internal Span<byte> LastKey => _last;

    private byte[] _previous = Array.Empty<byte>();
    private int _previousLength;

    internal Span<byte> PreviousChunk => _previous.AsSpan(0, _previousLength);

    internal void RememberChunk(ReadOnlySpan<byte> keys)
    {
        if (_previous.Length < keys.Length)
        {
            _previous = new byte[keys.Length];
        }

        keys.CopyTo(_previous);
        _previousLength = keys.Length;
    }

    /// <summary>Starts over from the first entry.</summary>
    public void Reset()
    {
        _previousLength = 0;
        IsDone = false;
        Started = false;
        ManualWalk = false;
    }

    internal void Prepare(int keySize)
    {
        // The batch token is a bucket or index number for the kernel's map types, never larger than a key or 8 bytes.
        var size = Math.Max(keySize, 8);
        if (_in.Length != size)
        {
            _in = new byte[size];
            _out = new byte[size];
        }

        if (_last.Length != keySize)
        {
            _last = new byte[keySize];
        }
    }

    internal void Advance(bool more)
    {
        Started = true;
        _out.CopyTo(_in, 0);
        if (!more)
        {
            IsDone = true;
        }
    }

    internal void Finish() => IsDone = true;
}
