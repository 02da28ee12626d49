// A minimal libbpf loader for tests: open a BPF object, reuse maps by descriptor, load, and hand out program
// and map descriptors (borrowed: they live until the object is closed). Also reads a ring buffer's producer
// position through its read-only mapping, which counts the bytes of records written so far.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Security.Tests;

internal sealed partial class TestObjectLoader : IDisposable
{
    private const string Lib = "libbpf.so.1";
    private IntPtr _obj;

    public TestObjectLoader(string path)
    {
        _obj = bpf_object__open_file(path, IntPtr.Zero);
        if (_obj == IntPtr.Zero)
        {
            throw new InvalidOperationException($"libbpf could not open {path}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public void ReuseMap(string name, BpfMapHandle map)
    {
        var m = bpf_object__find_map_by_name(_obj, name);
        if (m == IntPtr.Zero)
        {
            throw new InvalidOperationException($"object has no map '{name}'");
        }

        var r = bpf_map__reuse_fd(m, map.Fd);
        if (r != 0)
        {
            throw new InvalidOperationException($"bpf_map__reuse_fd({name}) failed: {r}");
        }
    }

    /// <summary>The object's map specs as libbpf read them from the ELF file (before load).</summary>
    public IReadOnlyList<BpfMapSpec> MapSpecs()
    {
        var result = new List<BpfMapSpec>();
        for (var m = bpf_object__next_map(_obj, IntPtr.Zero); m != IntPtr.Zero; m = bpf_object__next_map(_obj, m))
        {
            var name = Marshal.PtrToStringUTF8(bpf_map__name(m))!;
            result.Add(new BpfMapSpec(name, (BpfMapType)bpf_map__type(m), bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__max_entries(m), (BpfMapFlags)bpf_map__map_flags(m)));
        }

        return result;
    }

    public void Load()
    {
        var r = bpf_object__load(_obj);
        if (r != 0)
        {
            throw new InvalidOperationException($"bpf_object__load failed: {r}");
        }
    }

    public BpfProgramHandle Program(string name)
    {
        var p = bpf_object__find_program_by_name(_obj, name);
        return p == IntPtr.Zero ? throw new InvalidOperationException($"no program '{name}'") : new BpfProgramHandle(bpf_program__fd(p), ownsHandle: false);
    }

    public BpfMapHandle Map(string name)
    {
        var m = bpf_object__find_map_by_name(_obj, name);
        return m == IntPtr.Zero ? throw new InvalidOperationException($"no map '{name}'") : new BpfMapHandle(bpf_map__fd(m), ownsHandle: false);
    }

    public void Dispose()
    {
        if (_obj != IntPtr.Zero)
        {
            bpf_object__close(_obj);
            _obj = IntPtr.Zero;
        }
    }

    /// <summary>The producer position of a BPF ring buffer: total bytes of records (with their 8-byte headers) written.</summary>
    public static unsafe long RingProducerPosition(BpfMapHandle ring)
    {
        var page = Environment.SystemPageSize;
        var p = mmap(IntPtr.Zero, (nuint)page, 1 /* PROT_READ */, 1 /* MAP_SHARED */, ring.Fd, page);
        if (p == new IntPtr(-1))
        {
            throw new InvalidOperationException($"mmap of the ring buffer producer page failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            return Volatile.Read(ref *(long*)p);
        }
        finally
        {
            _ = munmap(p, (nuint)page);
        }
    }

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial IntPtr bpf_object__open_file(string path, IntPtr opts);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr bpf_object__find_map_by_name(IntPtr obj, string name);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr bpf_object__find_program_by_name(IntPtr obj, string name);

    [LibraryImport(Lib)]
    private static partial IntPtr bpf_object__next_map(IntPtr obj, IntPtr prev);

    [LibraryImport(Lib)]
    private static partial IntPtr bpf_map__name(IntPtr map);

    [LibraryImport(Lib)]
    private static partial int bpf_map__type(IntPtr map);

    [LibraryImport(Lib)]
    private static partial uint bpf_map__key_size(IntPtr map);

    [LibraryImport(Lib)]
    private static partial uint bpf_map__value_size(IntPtr map);

    [LibraryImport(Lib)]
    private static partial uint bpf_map__max_entries(IntPtr map);

    [LibraryImport(Lib)]
    private static partial uint bpf_map__map_flags(IntPtr map);

    [LibraryImport(Lib)]
    private static partial int bpf_map__reuse_fd(IntPtr map, int fd);

    [LibraryImport(Lib)]
    private static partial int bpf_object__load(IntPtr obj);

    [LibraryImport(Lib)]
    private static partial int bpf_program__fd(IntPtr prog);

    [LibraryImport(Lib)]
    private static partial int bpf_map__fd(IntPtr map);

    [LibraryImport(Lib)]
    private static partial void bpf_object__close(IntPtr obj);

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc")]
    private static partial int munmap(IntPtr addr, nuint length);
}
