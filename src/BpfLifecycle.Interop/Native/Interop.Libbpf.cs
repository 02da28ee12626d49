// P/Invoke declarations for libbpf.so.1 (the subset the ELF object loader uses) and the libc calls it needs
// (vsnprintf for libbpf's printf-style log callback, fcntl to duplicate descriptors libbpf owns).
using System.Runtime.InteropServices;

namespace BpfLifecycle.Interop.Native;

internal static unsafe partial class Interop
{
    internal static partial class Libbpf
    {
        // ---- version and logging

        [LibraryImport(Libraries.Libbpf, EntryPoint = "libbpf_major_version")]
        internal static partial uint MajorVersion();

        [LibraryImport(Libraries.Libbpf, EntryPoint = "libbpf_minor_version")]
        internal static partial uint MinorVersion();

        [LibraryImport(Libraries.Libbpf, EntryPoint = "libbpf_version_string")]
        internal static partial byte* VersionString();

        /// <summary>Installs the print callback: <c>int (*)(enum libbpf_print_level, const char *fmt, va_list)</c>. Returns the previous one.</summary>
        [LibraryImport(Libraries.Libbpf, EntryPoint = "libbpf_set_print")]
        internal static partial nint SetPrint(delegate* unmanaged<int, byte*, nint, int> fn);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "libbpf_strerror")]
        internal static partial int StrError(int err, byte* buf, nuint size);

        // ---- bpf_object: NULL + errno on failure (libbpf 1.x)

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__open_file", SetLastError = true)]
        internal static partial nint ObjectOpenFile(byte* path, bpf_object_open_opts* opts);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__open_mem", SetLastError = true)]
        internal static partial nint ObjectOpenMem(void* buf, nuint size, bpf_object_open_opts* opts);

        // Runs the verifier for every program: never SuppressGCTransition.
        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__load", SetLastError = true)]
        internal static partial int ObjectLoad(nint obj);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__close")]
        internal static partial void ObjectClose(nint obj);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__name")]
        internal static partial byte* ObjectName(nint obj);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__btf")]
        internal static partial nint ObjectBtf(nint obj);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__next_program")]
        internal static partial nint ObjectNextProgram(nint obj, nint prev);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__next_map")]
        internal static partial nint ObjectNextMap(nint obj, nint prev);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_object__find_map_by_name")]
        internal static partial nint ObjectFindMapByName(nint obj, byte* name);

        // ---- bpf_program

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_program__name")]
        internal static partial byte* ProgramName(nint prog);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_program__section_name")]
        internal static partial byte* ProgramSectionName(nint prog);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_program__type")]
        internal static partial uint ProgramType(nint prog);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_program__expected_attach_type")]
        internal static partial uint ProgramExpectedAttachType(nint prog);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_program__insn_cnt")]
        internal static partial nuint ProgramInsnCount(nint prog);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_program__autoload")]
        [return: MarshalAs(UnmanagedType.U1)]
        internal static partial bool ProgramAutoload(nint prog);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_program__set_autoload")]
        internal static partial int ProgramSetAutoload(nint prog, [MarshalAs(UnmanagedType.U1)] bool autoload);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_program__fd")]
        internal static partial int ProgramFd(nint prog);

        // ---- bpf_map

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__name")]
        internal static partial byte* MapName(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__type")]
        internal static partial uint MapType(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__key_size")]
        internal static partial uint MapKeySize(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__value_size")]
        internal static partial uint MapValueSize(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__max_entries")]
        internal static partial uint MapMaxEntries(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__map_flags")]
        internal static partial uint MapFlags(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__map_extra")]
        internal static partial ulong MapExtra(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__is_internal")]
        [return: MarshalAs(UnmanagedType.U1)]
        internal static partial bool MapIsInternal(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__btf_value_type_id")]
        internal static partial uint MapBtfValueTypeId(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__fd")]
        internal static partial int MapFd(nint map);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__reuse_fd", SetLastError = true)]
        internal static partial int MapReuseFd(nint map, int fd);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__initial_value")]
        internal static partial void* MapInitialValue(nint map, nuint* size);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "bpf_map__set_initial_value")]
        internal static partial int MapSetInitialValue(nint map, void* data, nuint size);

        // ---- btf

        [LibraryImport(Libraries.Libbpf, EntryPoint = "btf__type_cnt")]
        internal static partial uint BtfTypeCount(nint btf);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "btf__type_by_id")]
        internal static partial btf_type* BtfTypeById(nint btf, uint id);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "btf__name_by_offset")]
        internal static partial byte* BtfNameByOffset(nint btf, uint offset);

        [LibraryImport(Libraries.Libbpf, EntryPoint = "btf__find_by_name_kind")]
        internal static partial int BtfFindByNameKind(nint btf, byte* name, uint kind);

        internal const int LIBBPF_WARN = 0;
        internal const int LIBBPF_INFO = 1;
        internal const int LIBBPF_DEBUG = 2;

        internal const uint BTF_KIND_VAR = 14;
        internal const uint BTF_KIND_DATASEC = 15;
    }

    internal static partial class Libc
    {
        // vsnprintf takes a va_list. Passed as a parameter it is a pointer on both x86_64 (array type decays
        // to __va_list_tag*) and arm64 Linux (a 32-byte struct passed by reference), so libbpf's va_list can be
        // handed through as a pointer-sized value.
        [LibraryImport(Libraries.Libc, EntryPoint = "vsnprintf")]
        internal static partial int VsnPrintf(byte* buffer, nuint size, byte* format, nint args);

        // fcntl is variadic; an int third argument travels like a fixed one on x86_64 and arm64 Linux.
        [LibraryImport(Libraries.Libc, EntryPoint = "fcntl", SetLastError = true)]
        internal static partial int FcntlInt(int fd, int cmd, int arg);

        internal const int F_DUPFD_CLOEXEC = 1030;
    }
}

/// <summary>
/// <c>struct bpf_object_open_opts</c> of libbpf 1.1, cut after the fields the SDK sets: libbpf accepts a smaller
/// <c>sz</c> and treats the missing fields as zero.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct bpf_object_open_opts
{
    public nuint sz;
    public byte* object_name;
    public byte relaxed_maps;
    public byte* pin_root_path;
}

/// <summary><c>struct btf_type</c> (linux/btf.h): name offset, info word (kind in bits 24-28, vlen in bits 0-15), size or type.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct btf_type
{
    public uint name_off;
    public uint info;
    public uint size_or_type;

    public readonly uint Kind => (info >> 24) & 0x1f;

    public readonly int Vlen => (int)(info & 0xffff);
}

/// <summary><c>struct btf_var_secinfo</c>: one variable of a DATASEC, following its <see cref="btf_type"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct btf_var_secinfo
{
    public uint type;
    public uint offset;
    public uint size;
}
