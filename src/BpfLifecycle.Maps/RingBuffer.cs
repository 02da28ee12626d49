// One BPF ring buffer (BPF_MAP_TYPE_RINGBUF) mapped into the process and read zero-copy.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Maps.Native;

namespace BpfLifecycle.Maps;

/// <summary>Receives one record of a ring buffer; the span points into the mapping and is valid only during the call.</summary>
public delegate void RingRecordHandler(ReadOnlySpan<byte> record);

/// <summary>
/// Receives the records of <see cref="RingBuffer.Consume{THandler}(ref THandler, int)"/>. Implement it on a struct: the call
/// is then bound at compile time and usually inlined, where a delegate or an interface on a class is an indirect call per
/// record.
/// </summary>
public interface IRingRecordHandler
{
    /// <summary>Receives one record; the span points into the mapping and is valid only during the call.</summary>
    void OnRecord(ReadOnlySpan<byte> record);
}

/// <summary>
/// A ring buffer map mapped as the kernel ABI lays it out: the consumer position page read-write at offset 0, the producer
/// position page and the data read-only at offset <c>pagesize</c>, the data mapped twice so a record never wraps.
/// <para>
/// <see cref="TryRead"/> hands out each record as a <see cref="ReadOnlySpan{T}"/> into the mapping without copying; the
/// record stays valid until <see cref="Commit"/> publishes the consumer position, which the kernel then reuses. Commits are
/// explicit so one commit can release many records (libbpf stores the position after every record). Busy records (reserved,
/// not yet submitted) stop reading; discarded records are skipped. The producer position is read with acquire semantics
/// and the consumer position published with release semantics (<see cref="Volatile"/>).
/// </para>
/// <para>Each record's position depends on the previous record's length, which would make reading a chain of dependent
/// loads. While records keep one length (one record type per ring, the common case), the reader predicts it and the CPU
/// loads the following headers ahead instead of waiting for each in turn; when lengths change too often for the
/// prediction to pay, it stops predicting until they settle again.</para>
/// <para>One thread reads a ring at a time. Failed reservations on the BPF side are not visible in the ring itself; see
/// <see cref="RingBufferLostCounter"/> for the convention that makes them countable (<see cref="ReadLostRecords"/>).</para>
/// </summary>
public sealed unsafe class RingBuffer : IDisposable
{
    private readonly BpfMapHandle _handle;
    private readonly bool _ownsHandle;
    private readonly nuint _pageSize;
    private readonly nuint _producerLength;
    private readonly long _mask;
    private byte* _consumer;
    private byte* _producer;
    private byte* _data;
    private RingCursor _cursor;
    private long _committedPos;

    private RingBuffer(BpfMapHandle handle, bool ownsHandle, BpfMapInfo info, BpfMap? lostCounter)
    {
        _handle = handle;
        _ownsHandle = ownsHandle;
        Info = info;
        LostCounter = lostCounter;
        Size = (int)info.MaxEntries;
        _mask = Size - 1;
        _pageSize = (nuint)Environment.SystemPageSize;
        _producerLength = _pageSize + 2 * (nuint)Size;
        var addRef = false;
        try
        {
            handle.DangerousAddRef(ref addRef);
            var consumer = MapsInterop.Mmap(null, _pageSize, MapsInterop.PROT_READ | MapsInterop.PROT_WRITE, MapsInterop.MAP_SHARED, handle.Fd, 0);
            if (consumer == MapsInterop.MAP_FAILED)
            {
                throw new BpfException(null, Marshal.GetLastPInvokeError(), $"mmap of the consumer page of ring buffer '{info.Name}'");
            }

            var producer = MapsInterop.Mmap(null, _producerLength, MapsInterop.PROT_READ, MapsInterop.MAP_SHARED, handle.Fd, (long)_pageSize);
            if (producer == MapsInterop.MAP_FAILED)
            {
                var errno = Marshal.GetLastPInvokeError();
                _ = MapsInterop.Munmap(consumer, _pageSize);
                throw new BpfException(null, errno, $"mmap of the producer page and data of ring buffer '{info.Name}' ({_producerLength} bytes)");
            }

            _consumer = (byte*)consumer;
            _producer = (byte*)producer;
            _data = (byte*)producer + _pageSize;
        }
        finally
        {
            if (addRef)
            {
                handle.DangerousRelease();
            }
        }

        _cursor = RingCursor.At(Volatile.Read(ref *(long*)_consumer));
        _committedPos = _cursor.Position;
    }

    /// <summary>Maps a ring buffer map. The descriptor stays owned by <paramref name="map"/>; the ring keeps its own reference.</summary>
    /// <param name="map">A <c>BPF_MAP_TYPE_RINGBUF</c> map.</param>
    /// <param name="lostCounter">The map where the producer counts failed reservations (see <see cref="RingBufferLostCounter"/>), if any.</param>
    public static RingBuffer Open(BpfMap map, BpfMap? lostCounter = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        var addRef = false;
        map.Handle.DangerousAddRef(ref addRef);
        try
        {
            return new RingBuffer(map.Handle, ownsHandle: false, CheckRing(map.Info), CheckLost(lostCounter));
        }
        catch
        {
            map.Handle.DangerousRelease();
            throw;
        }
    }

    /// <summary>Maps a ring buffer from a descriptor; ownership of <paramref name="handle"/> passes to the ring.</summary>
    public static RingBuffer Open(BpfMapHandle handle, BpfMap? lostCounter = null)
    {
        ArgumentNullException.ThrowIfNull(handle);
        try
        {
            return new RingBuffer(handle, ownsHandle: true, CheckRing(Bpf.GetMapInfo(handle)), CheckLost(lostCounter));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static BpfMapInfo CheckRing(BpfMapInfo info)
    {
        if (info.Type != BpfMapType.RingBuf)
        {
            throw new ArgumentException($"Map '{info.Name}' is a {info.Type} map, not a ring buffer.");
        }

        return info;
    }

    private static BpfMap? CheckLost(BpfMap? lost)
    {
        if (lost is not null)
        {
            RingBufferLostCounter.Validate(lost);
        }

        return lost;
    }

    /// <summary>What the kernel reports of the ring's map.</summary>
    public BpfMapInfo Info { get; }

    /// <summary>Data size in bytes (the map's max_entries).</summary>
    public int Size { get; }

    /// <summary>Whether reading currently predicts that a record has the previous record's length (see <see cref="RingCursor"/>).</summary>
    internal bool PredictsLengths => _cursor.Predicting;

    /// <summary>The map the producer counts failed reservations in, or null.</summary>
    public BpfMap? LostCounter { get; }

    /// <summary>The ring map's descriptor.</summary>
    public BpfMapHandle Handle => _handle;

    /// <summary>Bytes written by the producer and not yet read (headers and padding included): the backlog.</summary>
    public long Backlog => Volatile.Read(ref *(long*)Producer) - _cursor.Position;

    /// <summary>Bytes read but not yet committed (still held by this reader).</summary>
    public long Uncommitted => _cursor.Position - Volatile.Read(ref *(long*)_consumer);

    /// <summary>Bytes the kernel counts as in use (producer minus committed consumer position).</summary>
    public long Occupied => Volatile.Read(ref *(long*)Producer) - Volatile.Read(ref *(long*)_consumer);

    private byte* Producer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var p = _producer;
            if (p == null)
            {
                ThrowHelper.Disposed(nameof(RingBuffer));
            }

            return p;
        }
    }

    /// <summary>
    /// Reads the next submitted record without copying. Returns false when the ring is empty or the next record is still
    /// being written (busy). The span stays valid until <see cref="Commit"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead(out ReadOnlySpan<byte> record) => _cursor.TryNext(_data, _mask, (long*)_producer, out record);

    /// <summary>Publishes the consumer position (release): every record read so far goes back to the kernel; their spans become invalid.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Commit()
    {
        var consumer = _consumer;
        if (consumer == null)
        {
            ThrowHelper.Disposed(nameof(RingBuffer));
        }

        _committedPos = _cursor.Position;
        Volatile.Write(ref *(long*)consumer, _committedPos);
    }

    /// <summary>
    /// Picks up the consumer position from the mapping when another consumer of the same map (e.g. a second process)
    /// moved it and this ring holds no uncommitted records. Called at the start of every batch.
    /// </summary>
    private void Resync()
    {
        if (_cursor.Position == _committedPos)
        {
            var shared = Volatile.Read(ref *(long*)_consumer);
            if (shared != _committedPos)
            {
                _cursor = RingCursor.At(shared);
                _committedPos = shared;
            }
        }
    }

    /// <summary>Commits and then orders the commit before later loads, so a check for data after it cannot miss a wakeup.</summary>
    internal void CommitFenced()
    {
        Commit();
        Interlocked.MemoryBarrier();
    }

    /// <summary>
    /// Reads up to <paramref name="maxRecords"/> available records in a <c>foreach</c>; the enumeration's end commits them all
    /// at once. Allocates nothing.
    /// </summary>
    public RingBatch ReadBatch(int maxRecords = int.MaxValue)
    {
        ObjectDisposedException.ThrowIf(_consumer == null, this);
        Resync();
        return new(this, maxRecords);
    }

    /// <summary>
    /// Hands every available record (up to <paramref name="maxRecords"/>) to <paramref name="handler"/>, then commits once.
    /// Returns the count. If the handler throws, nothing of this call is committed: its records are delivered again.
    /// </summary>
    public int Consume(RingRecordHandler handler, int maxRecords = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var adapter = new DelegateHandler(handler);
        return Consume(ref adapter, maxRecords);
    }

    private readonly struct DelegateHandler(RingRecordHandler handler) : IRingRecordHandler
    {
        public void OnRecord(ReadOnlySpan<byte> record) => handler(record);
    }

    /// <summary>
    /// Hands every available record (up to <paramref name="maxRecords"/>) to <paramref name="handler"/>, then commits once;
    /// returns the count. The handler is a struct, so its <see cref="IRingRecordHandler.OnRecord"/> is called directly
    /// (and usually inlined) and the read position stays in registers: the fastest way to drain a ring. If the handler
    /// throws, nothing of this call is committed or taken as read: its records are delivered again by the next read.
    /// </summary>
    /// <typeparam name="THandler">A struct (or ref struct) implementing <see cref="IRingRecordHandler"/>.</typeparam>
    public int Consume<THandler>(ref THandler handler, int maxRecords = int.MaxValue)
        where THandler : struct, IRingRecordHandler, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_consumer == null, this);
        Resync();
        var cursor = _cursor;
        var data = _data;
        var mask = _mask;
        var producer = (long*)_producer;
        var n = 0;
        while (n < maxRecords && cursor.TryNext(data, mask, producer, out var record))
        {
            handler.OnRecord(record);
            n++;
        }

        _cursor = cursor;
        Commit();
        return n;
    }

    /// <summary>Failed reservations the producer has counted in <see cref="LostCounter"/> so far (0 when there is none).</summary>
    public long ReadLostRecords() => LostCounter is null ? 0 : RingBufferLostCounter.Read(LostCounter);

    /// <summary>Unmaps the ring and releases the descriptor reference.</summary>
    public void Dispose()
    {
        if (_producer == null)
        {
            return;
        }

        _ = MapsInterop.Munmap(_producer, _producerLength);
        _ = MapsInterop.Munmap(_consumer, _pageSize);
        _producer = null;
        _consumer = null;
        _data = null;

        // Unread records below the cached producer position must not be read through the unmapped data: the next read
        // goes to the producer position, which throws ObjectDisposedException.
        _cursor.ProducerCache = long.MinValue;
        if (_ownsHandle)
        {
            _handle.Dispose();
        }
        else
        {
            _handle.DangerousRelease();
        }
    }

    /// <summary>Takes back the cursor a finished batch moved and commits its position.</summary>
    private void EndBatch(in RingCursor cursor)
    {
        _cursor = cursor;
        Commit();
    }

    /// <summary>
    /// Enumerates available records of a ring and commits them when the enumeration ends. The cursor lives in the
    /// enumerator (registers, not the ring object) while it runs; do not call <see cref="TryRead"/> on the ring until the
    /// batch is disposed.
    /// </summary>
    public unsafe ref struct RingBatch
    {
        private readonly RingBuffer _ring;
        private readonly byte* _data;
        private readonly long* _producerPos;
        private readonly long _mask;
        private RingCursor _cursor;
        private int _remaining;
        private ReadOnlySpan<byte> _current;

        internal RingBatch(RingBuffer ring, int max)
        {
            _ring = ring;
            _data = ring._data;
            _producerPos = (long*)ring._producer;
            _mask = ring._mask;
            _cursor = ring._cursor;
            _remaining = max;
            _current = default;
        }

        /// <summary>The record (valid until the enumeration ends).</summary>
        public readonly ReadOnlySpan<byte> Current => _current;

        /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
        public readonly RingBatch GetEnumerator() => this;

        /// <summary>Advances to the next available record, skipping discarded ones; stops at a busy record.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool MoveNext()
        {
            if (_remaining > 0 && _cursor.TryNext(_data, _mask, _producerPos, out _current))
            {
                _remaining--;
                return true;
            }

            return false;
        }

        /// <summary>Commits every record read.</summary>
        public readonly void Dispose() => _ring.EndBatch(_cursor);
    }
}

/// <summary>
/// The convention that makes lost ring buffer records countable. A ring buffer drops nothing once a record is reserved; a
/// record is lost when <c>bpf_ringbuf_reserve</c> (or <c>bpf_ringbuf_output</c>) fails because the ring is full. The
/// producer counts each failure in a companion map: an <c>ARRAY</c> or <c>PERCPU_ARRAY</c> with a <c>u32</c> key, a
/// <c>u64</c> value and one entry, whose element 0 it increments (atomically for a shared array, plainly per CPU). The
/// reader sums it (<see cref="RingBuffer.ReadLostRecords"/>, <see cref="RingBufferReader.ReadLostRecords"/>).
/// <code>
/// struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } events_lost SEC(".maps");
/// void *rec = bpf_ringbuf_reserve(&amp;events, sizeof(struct event), 0);
/// if (!rec) { __u32 zero = 0; __u64 *lost = bpf_map_lookup_elem(&amp;events_lost, &amp;zero); if (lost) *lost += 1; return 0; }
/// </code>
/// </summary>
public static class RingBufferLostCounter
{
    /// <summary>The spec of a lost counter map (per-CPU array, one u64), named after its ring by convention (<c>&lt;ring&gt;_lost</c>).</summary>
    public static BpfMapSpec Spec(string name) => new(name, BpfMapType.PerCpuArray, 4, 8, 1);

    /// <summary>Creates a lost counter map.</summary>
    public static BpfMap Create(string name) => BpfMap.Create(Spec(name));

    /// <summary>Reads the count (summed over CPUs for a per-CPU array).</summary>
    public static long Read(BpfMap counter)
    {
        ArgumentNullException.ThrowIfNull(counter);
        Span<byte> key = stackalloc byte[4];
        key.Clear();
        Span<byte> value = counter.ValueBufferSize <= 1024 ? stackalloc byte[counter.ValueBufferSize] : new byte[counter.ValueBufferSize];
        if (!counter.TryLookup(key, value))
        {
            return 0;
        }

        long sum = 0;
        for (var i = 0; i < counter.PossibleCpus; i++)
        {
            sum += MemoryMarshal.Read<long>(value[(i * 8)..]);
        }

        return sum;
    }

    internal static void Validate(BpfMap map)
    {
        if (map.Type is not (BpfMapType.Array or BpfMapType.PerCpuArray) || map.KeySize != 4 || map.ValueSize != 8)
        {
            throw new ArgumentException($"A lost counter must be an ARRAY or PERCPU_ARRAY with 4-byte keys and 8-byte values; map '{map.Name}' is a {map.Type} with {map.KeySize}-byte keys and {map.ValueSize}-byte values.", nameof(map));
        }
    }
}
