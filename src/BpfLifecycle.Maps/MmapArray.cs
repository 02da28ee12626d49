// The memory of a BPF_F_MMAPABLE array map mapped into the process: elements read and written without system calls.
using System.Runtime.CompilerServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Maps.Native;

namespace BpfLifecycle.Maps;

/// <summary>
/// The elements of an mmapable array map as process memory. Reads and writes are plain memory accesses shared with BPF
/// programs; use <see cref="Volatile"/> or <see cref="Interlocked"/> on <see cref="this[int]"/> where ordering or atomicity
/// matters. The kernel lays elements out every <c>roundup(value_size, 8)</c> bytes, so <see cref="Span"/> is available
/// when the value size is a multiple of 8; the indexer works for any size.
/// </summary>
/// <typeparam name="T">Element type (the map's value size).</typeparam>
public sealed unsafe class MmapArray<T> : IDisposable
    where T : unmanaged
{
    private readonly nuint _mappedLength;
    private readonly int _stride;
    private byte* _base;

    private MmapArray(byte* address, nuint mappedLength, int length, int stride, bool writable)
    {
        _base = address;
        _mappedLength = mappedLength;
        Length = length;
        _stride = stride;
        IsWritable = writable;
    }

    internal static MmapArray<T> Map(BpfMapHandle handle, int length, int valueSize, bool writable)
    {
        if (Unsafe.SizeOf<T>() != valueSize)
        {
            throw new ArgumentException($"{typeof(T).Name} is {Unsafe.SizeOf<T>()} bytes; the array's values are {valueSize} bytes.");
        }

        var stride = BpfMap.RoundUp8(valueSize);
        var page = (nuint)Environment.SystemPageSize;
        var bytes = ((nuint)length * (nuint)stride + page - 1) / page * page;
        var addRef = false;
        try
        {
            handle.DangerousAddRef(ref addRef);
            var p = MapsInterop.Mmap(null, bytes, MapsInterop.PROT_READ | (writable ? MapsInterop.PROT_WRITE : 0), MapsInterop.MAP_SHARED, handle.Fd, 0);
            if (p == MapsInterop.MAP_FAILED)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                throw new BpfException(null, errno, $"mmap of array map ({bytes} bytes, {(writable ? "read-write" : "read-only")})" +
                    (errno == Errno.EPERM || errno == Errno.EACCES ? ": the map is frozen or the descriptor is read-only; map it read-only" : string.Empty));
            }

            return new MmapArray<T>((byte*)p, bytes, length, stride, writable);
        }
        finally
        {
            if (addRef)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Whether the mapping is writable.</summary>
    public bool IsWritable { get; }

    /// <summary>The elements as a span over the mapping (value size must be a multiple of 8; see the type's remarks).</summary>
    public Span<T> Span
    {
        get
        {
            var b = Base;
            if (_stride != sizeof(T))
            {
                ThrowHelper.Invalid($"Elements of {sizeof(T)} bytes are laid out every {_stride} bytes; use the indexer.");
            }

            return new Span<T>(b, Length);
        }
    }

    /// <summary>A reference to one element in the mapping.</summary>
    public ref T this[int index]
    {
        get
        {
            var b = Base;
            if ((uint)index >= (uint)Length)
            {
                ThrowHelper.IndexOutOfRange(index, Length);
            }

            return ref Unsafe.AsRef<T>(b + (nint)index * _stride);
        }
    }

    private byte* Base
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var b = _base;
            if (b == null)
            {
                ThrowHelper.Disposed(nameof(MmapArray<T>));
            }

            return b;
        }
    }

    /// <summary>Unmaps the memory. Spans obtained earlier must not be used afterwards.</summary>
    public void Dispose()
    {
        var b = _base;
        _base = null;
        if (b != null)
        {
            _ = MapsInterop.Munmap(b, _mappedLength);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Unmaps the memory if the object was not disposed.</summary>
    ~MmapArray()
    {
        if (_base != null)
        {
            _ = MapsInterop.Munmap(_base, _mappedLength);
        }
    }
}
