// Loads a BPF ELF object through libbpf.so.1 for the kernel tests: sets .rodata globals by name (offsets from the
// object's BTF), loads, and hands out duplicated descriptors as SDK handles so the libbpf object can be closed at once.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Observability.Tests;

internal sealed unsafe partial class TestObjectLoader : IDisposable
{
    private const string Lib = "libbpf.so.1";
    private const int BtfKindDatasec = 15;
    private nint _obj;

    public static string ReferenceObject => Path.Combine(AppContext.BaseDirectory, "bpf", "lifecycle_xdp.o");

    public TestObjectLoader(string path)
    {
        _obj = bpf_object__open_file(path, null);
        if (_obj == 0)
        {
            throw new InvalidOperationException($"libbpf could not open '{path}' (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    public void SetGlobal<T>(string name, T value) where T : unmanaged
    {
        var map = bpf_object__find_map_by_name(_obj, ".rodata");
        if (map == 0)
        {
            throw new InvalidOperationException("The object has no .rodata map.");
        }

        nuint size;
        var data = (byte*)bpf_map__initial_value(map, &size);
        var btf = bpf_object__btf(_obj);
        var sec = btf__find_by_name_kind(btf, ".rodata", BtfKindDatasec);
        var t = (uint*)btf__type_by_id(btf, (uint)sec);
        var vlen = t[1] & 0xffff;
        var vars = t + 3;
        for (var i = 0; i < vlen; i++)
        {
            var varType = (uint*)btf__type_by_id(btf, vars[i * 3]);
            var varName = Marshal.PtrToStringUTF8(btf__name_by_offset(btf, varType[0]));
            if (varName == name)
            {
                var offset = vars[i * 3 + 1];
                if (vars[i * 3 + 2] != sizeof(T) || offset + (nuint)sizeof(T) > size)
                {
                    throw new InvalidOperationException($"Global '{name}' is {vars[i * 3 + 2]} bytes, not {sizeof(T)}.");
                }

                *(T*)(data + offset) = value;
                return;
            }
        }

        throw new InvalidOperationException($"The object has no .rodata global '{name}'.");
    }

    public void Load()
    {
        var r = bpf_object__load(_obj);
        if (r != 0)
        {
            throw new InvalidOperationException($"libbpf could not load the object ({r}).");
        }
    }

    public BpfProgramHandle Program(string name)
    {
        var p = bpf_object__find_program_by_name(_obj, name);
        return p == 0 ? throw new KeyNotFoundException(name) : new BpfProgramHandle(Dup(bpf_program__fd(p)));
    }

    public BpfMapHandle Map(string name)
    {
        var m = bpf_object__find_map_by_name(_obj, name);
        return m == 0 ? throw new KeyNotFoundException(name) : new BpfMapHandle(Dup(bpf_map__fd(m)));
    }

    private static int Dup(int fd)
    {
        var d = dup(fd);
        return d < 0 ? throw new InvalidOperationException($"dup({fd}) failed: errno {Marshal.GetLastPInvokeError()}") : d;
    }

    public void Dispose()
    {
        if (_obj != 0)
        {
            bpf_object__close(_obj);
            _obj = 0;
        }
    }

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint bpf_object__open_file(string path, void* opts);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint bpf_object__find_map_by_name(nint obj, string name);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint bpf_object__find_program_by_name(nint obj, string name);

    [LibraryImport(Lib)]
    private static partial nint bpf_map__initial_value(nint map, nuint* size);

    [LibraryImport(Lib)]
    private static partial int bpf_object__load(nint obj);

    [LibraryImport(Lib)]
    private static partial int bpf_program__fd(nint prog);

    [LibraryImport(Lib)]
    private static partial int bpf_map__fd(nint map);

    [LibraryImport(Lib)]
    private static partial void bpf_object__close(nint obj);

    [LibraryImport(Lib)]
    private static partial nint bpf_object__btf(nint obj);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int btf__find_by_name_kind(nint btf, string name, uint kind);

    [LibraryImport(Lib)]
    private static partial nint btf__type_by_id(nint btf, uint id);

    [LibraryImport(Lib)]
    private static partial nint btf__name_by_offset(nint btf, uint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int dup(int fd);
}

/// <summary>One loaded copy of lifecycle_xdp.o with the handles the monitor needs.</summary>
internal sealed class ReferenceProgram : IDisposable
{
    public ReferenceProgram(ulong versionId, uint errorEvery = 0)
    {
        using var loader = new TestObjectLoader(TestObjectLoader.ReferenceObject);
        loader.SetGlobal("bpflc_version_id", versionId);
        loader.SetGlobal("error_every", errorEvery);
        loader.Load();
        Program = loader.Program("lifecycle_xdp");
        Stats = loader.Map("bpflc_stats");
        Logs = loader.Map("bpflc_logs");
        Config = loader.Map("bpflc_config");
        Packets = loader.Map("packets");
    }

    public BpfProgramHandle Program { get; }
    public BpfMapHandle Stats { get; }
    public BpfMapHandle Logs { get; }
    public BpfMapHandle Config { get; }
    public BpfMapHandle Packets { get; }

    public void SetConfig(string key, ulong value)
    {
        var k = Abi.BpfLcConfigKey.Create(key);
        Bpf.MapUpdate(Config, MemoryMarshal.AsBytes(new ReadOnlySpan<Abi.BpfLcConfigKey>(in k)), MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(in value)));
    }

    /// <summary>Runs the program <paramref name="times"/> times on a 64-byte frame through BPF_PROG_TEST_RUN.</summary>
    public BpfTestRunResult Run(uint times)
    {
        Span<byte> packet = stackalloc byte[64];
        packet[12] = 0x08; // IPv4 ethertype: a plausible frame
        return Bpf.TestRun(Program, packet, Span<byte>.Empty, times);
    }

    public void Dispose()
    {
        Program.Dispose();
        Stats.Dispose();
        Logs.Dispose();
        Config.Dispose();
        Packets.Dispose();
    }
}
