// Loads one program version from an ELF object through libbpf: sets .rodata globals, reuses the live
// version's state maps (after a compatibility check), loads, and hands back owned descriptors so the
// libbpf object can be closed at once.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Kernel;

/// <summary>A map of an object as the object file describes it.</summary>
internal sealed record ObjectMapSpec(string Name, BpfMapType Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags);

/// <summary>A loaded version: its entry program and every map it uses, all owned by this instance.</summary>
internal sealed class LoadedObject : IDisposable
{
    public LoadedObject(BpfProgramHandle program, BpfProgramType programType, IReadOnlyDictionary<string, BpfMapHandle> maps)
    {
        Program = program;
        ProgramType = programType;
        Maps = maps;
    }

    public BpfProgramHandle Program { get; }

    public BpfProgramType ProgramType { get; }

    public IReadOnlyDictionary<string, BpfMapHandle> Maps { get; }

    public void Dispose()
    {
        Program.Dispose();
        foreach (var m in Maps.Values)
        {
            m.Dispose();
        }
    }
}

/// <summary>A state map whose shape differs between the live version and the new object.</summary>
public sealed class IncompatibleStateMapException : InvalidOperationException
{
    /// <summary>Creates the error.</summary>
    public IncompatibleStateMapException(string mapName, IReadOnlyList<string> differences)
        : base($"State map '{mapName}' of the new version is incompatible with the live one: {string.Join("; ", differences)}. Nothing was changed.")
    {
        MapName = mapName;
        Differences = differences;
    }

    /// <summary>The map.</summary>
    public string MapName { get; }

    /// <summary>Readable differences, e.g. <c>value size: 8 changed to 16</c>.</summary>
    public IReadOnlyList<string> Differences { get; }
}

internal static unsafe partial class ObjectLoader
{
    private const string Lib = "libbpf.so.1";
    private const string OptionalVersionIdGlobal = "bpflc_version_id";
    private const int BTF_KIND_DATASEC = 15;

    [LibraryImport(Lib, EntryPoint = "bpf_object__open_mem", SetLastError = true)]
    private static partial nint OpenMem(void* buffer, nuint size, void* opts);

    [LibraryImport(Lib, EntryPoint = "bpf_object__close")]
    private static partial void Close(nint obj);

    [LibraryImport(Lib, EntryPoint = "bpf_object__load")]
    private static partial int LoadObject(nint obj);

    [LibraryImport(Lib, EntryPoint = "bpf_object__next_map")]
    private static partial nint NextMap(nint obj, nint prev);

    [LibraryImport(Lib, EntryPoint = "bpf_object__find_program_by_name", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint FindProgram(nint obj, string name);

    [LibraryImport(Lib, EntryPoint = "bpf_object__next_program")]
    private static partial nint NextProgram(nint obj, nint prev);

    [LibraryImport(Lib, EntryPoint = "bpf_program__name")]
    private static partial byte* ProgramName(nint prog);

    [LibraryImport(Lib, EntryPoint = "bpf_program__set_autoload")]
    private static partial int SetAutoload(nint prog, [MarshalAs(UnmanagedType.U1)] bool autoload);

    [LibraryImport(Lib, EntryPoint = "bpf_program__fd")]
    private static partial int ProgramFd(nint prog);

    [LibraryImport(Lib, EntryPoint = "bpf_program__type")]
    private static partial uint ProgramType(nint prog);

    [LibraryImport(Lib, EntryPoint = "bpf_map__name")]
    private static partial byte* MapName(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__fd")]
    private static partial int MapFd(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__type")]
    private static partial uint MapType(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__key_size")]
    private static partial uint MapKeySize(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__value_size")]
    private static partial uint MapValueSize(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__max_entries")]
    private static partial uint MapMaxEntries(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__map_flags")]
    private static partial uint MapFlags(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__reuse_fd")]
    private static partial int ReuseFd(nint map, int fd);

    [LibraryImport(Lib, EntryPoint = "bpf_map__initial_value")]
    private static partial byte* InitialValue(nint map, nuint* size);

    [LibraryImport(Lib, EntryPoint = "bpf_object__btf")]
    private static partial nint ObjectBtf(nint obj);

    [LibraryImport(Lib, EntryPoint = "btf__find_by_name_kind", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int BtfFindByNameKind(nint btf, string name, uint kind);

    [LibraryImport(Lib, EntryPoint = "btf__type_by_id")]
    private static partial uint* BtfTypeById(nint btf, uint id);

    [LibraryImport(Lib, EntryPoint = "btf__name_by_offset")]
    private static partial byte* BtfNameByOffset(nint btf, uint offset);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    private const int F_DUPFD_CLOEXEC = 1030;

    /// <summary>Map specs of an object without loading it (for compatibility checks and gates).</summary>
    public static IReadOnlyList<ObjectMapSpec> ReadMapSpecs(ReadOnlySpan<byte> elf)
    {
        var obj = Open(elf, out var pinned);
        try
        {
            return EnumerateMaps(obj).Select(m => m.Spec).ToList();
        }
        finally
        {
            Close(obj);
            pinned.Free();
        }
    }

    /// <summary>
    /// Loads <paramref name="programName"/> from the object. Maps named in <paramref name="reuse"/> are replaced
    /// by the given live maps after their shape was checked; globals are written into .rodata/.data/.bss first.
    /// </summary>
    public static LoadedObject Load(ReadOnlySpan<byte> elf, string programName, IReadOnlyDictionary<string, BpfMapHandle> reuse, IReadOnlyDictionary<string, ulong> globals)
    {
        var obj = Open(elf, out var pinned);
        try
        {
            var prog = FindProgram(obj, programName);
            if (prog == 0)
            {
                var names = new List<string>();
                for (var p = NextProgram(obj, 0); p != 0; p = NextProgram(obj, p))
                {
                    names.Add(Utf8(ProgramName(p)));
                }

                throw new InvalidOperationException($"The object has no program '{programName}' (programs: {string.Join(", ", names)}).");
            }

            for (var p = NextProgram(obj, 0); p != 0; p = NextProgram(obj, p))
            {
                if (p != prog)
                {
                    SetAutoload(p, false);
                }
            }

            var maps = EnumerateMaps(obj);
            foreach (var (name, live) in reuse)
            {
                var m = maps.FirstOrDefault(x => x.Spec.Name == name);
                if (m.Handle == 0)
                {
                    throw new IncompatibleStateMapException(name, [$"the new object has no map '{name}'"]);
                }

                var diff = Compare(Bpf.GetMapInfo(live), m.Spec);
                if (diff.Count > 0)
                {
                    throw new IncompatibleStateMapException(name, diff);
                }

                Check(ReuseFd(m.Handle, live.Fd), $"reuse map '{name}'");
            }

            SetGlobals(obj, maps, globals);
            Check(LoadObject(obj), "load object");
            var progFd = Dup(ProgramFd(prog));
            var type = (BpfProgramType)ProgramType(prog);
            var handles = new Dictionary<string, BpfMapHandle>(StringComparer.Ordinal);
            foreach (var (handle, spec) in maps)
            {
                var fd = MapFd(handle);
                if (fd >= 0)
                {
                    handles[spec.Name] = new BpfMapHandle(Dup(fd));
                }
            }

            return new LoadedObject(new BpfProgramHandle(progFd), type, handles);
        }
        finally
        {
            Close(obj);
            pinned.Free();
        }
    }

    /// <summary>Differences between a live map and an object's map spec, in words; empty when compatible.</summary>
    public static IReadOnlyList<string> Compare(BpfMapInfo live, ObjectMapSpec spec)
    {
        var d = new List<string>();
        if (live.Type != spec.Type)
        {
            d.Add($"type: {live.Type} changed to {spec.Type}");
        }

        if (live.KeySize != spec.KeySize)
        {
            d.Add($"key size: {live.KeySize} changed to {spec.KeySize}");
        }

        if (live.ValueSize != spec.ValueSize)
        {
            d.Add($"value size: {live.ValueSize} changed to {spec.ValueSize}");
        }

        if (live.MaxEntries != spec.MaxEntries)
        {
            d.Add($"max entries: {live.MaxEntries} changed to {spec.MaxEntries}");
        }

        if ((uint)live.Flags != spec.Flags)
        {
            d.Add($"flags: 0x{(uint)live.Flags:x} changed to 0x{spec.Flags:x}");
        }

        return d;
    }

    private static nint Open(ReadOnlySpan<byte> elf, out GCHandle pinned)
    {
        var copy = elf.ToArray();
        pinned = GCHandle.Alloc(copy, GCHandleType.Pinned);
        var obj = OpenMem((void*)pinned.AddrOfPinnedObject(), (nuint)copy.Length, null);
        if (obj == 0 || obj > -4096 && obj < 0)
        {
            var errno = obj == 0 ? Marshal.GetLastPInvokeError() : (int)-obj;
            pinned.Free();
            throw new BpfException(null, errno, "libbpf could not open the ELF object");
        }

        return obj;
    }

    private static List<(nint Handle, ObjectMapSpec Spec)> EnumerateMaps(nint obj)
    {
        var result = new List<(nint Handle, ObjectMapSpec Spec)>();
        for (var m = NextMap(obj, 0); m != 0; m = NextMap(obj, m))
        {
            result.Add((m, new ObjectMapSpec(Utf8(MapName(m)), (BpfMapType)MapType(m), MapKeySize(m), MapValueSize(m), MapMaxEntries(m), MapFlags(m))));
        }

        return result;
    }

    private static void SetGlobals(nint obj, List<(nint Handle, ObjectMapSpec Spec)> maps, IReadOnlyDictionary<string, ulong> globals)
    {
        if (globals.Count == 0)
        {
            return;
        }

        var remaining = new Dictionary<string, ulong>(globals, StringComparer.Ordinal);
        var btf = ObjectBtf(obj);
        if (btf != 0)
        {
            foreach (var section in new[] { ".rodata", ".data", ".bss" })
            {
                var map = maps.FirstOrDefault(m => m.Spec.Name.EndsWith(section, StringComparison.Ordinal));
                var secId = BtfFindByNameKind(btf, section, BTF_KIND_DATASEC);
                if (map.Handle == 0 || secId <= 0)
                {
                    continue;
                }

                nuint size;
                var data = InitialValue(map.Handle, &size);
                var t = BtfTypeById(btf, (uint)secId);
                var vlen = (int)(t[1] & 0xffff);
                var secinfo = t + 3;
                for (var i = 0; i < vlen; i++)
                {
                    uint varType = secinfo[i * 3], offset = secinfo[i * 3 + 1], varSize = secinfo[i * 3 + 2];
                    var v = BtfTypeById(btf, varType);
                    var name = Utf8(BtfNameByOffset(btf, v[0]));
                    if (!remaining.Remove(name, out var value))
                    {
                        continue;
                    }

                    if (varSize is not (1 or 2 or 4 or 8) || offset + varSize > size)
                    {
                        throw new InvalidOperationException($"Global '{name}' in {section} is {varSize} bytes; only 1, 2, 4 or 8-byte integers can be set.");
                    }

                    if (varSize < 8 && value >> (int)(varSize * 8) != 0)
                    {
                        throw new InvalidOperationException($"Value {value} does not fit global '{name}' ({varSize} bytes).");
                    }

                    var bytes = BitConverter.GetBytes(value);
                    new ReadOnlySpan<byte>(bytes, 0, (int)varSize).CopyTo(new Span<byte>(data + offset, (int)varSize));
                }
            }
        }

        // The SDK sets the version id on every load; objects built without bpf_lifecycle.h simply lack it.
        remaining.Remove(OptionalVersionIdGlobal);
        if (remaining.Count > 0)
        {
            throw new InvalidOperationException($"The object has no global variable named {string.Join(", ", remaining.Keys.Select(k => $"'{k}'"))}.");
        }
    }

    private static int Dup(int fd)
    {
        var r = Fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (r < 0)
        {
            throw new IOException($"fcntl(F_DUPFD_CLOEXEC) failed: errno {Marshal.GetLastPInvokeError()}.");
        }

        return r;
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw new BpfException(null, -result, $"libbpf: {what} failed");
        }
    }

    private static string Utf8(byte* p) => p == null ? string.Empty : Marshal.PtrToStringUTF8((nint)p) ?? string.Empty;
}
