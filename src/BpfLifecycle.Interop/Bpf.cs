// The bpf(2) surface as typed static methods: maps, programs, pins, ids and object info.
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop.Asm;
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>Typed wrappers over bpf(2). Each method maps to one command and throws <see cref="BpfException"/> on failure.</summary>
public static unsafe partial class Bpf
{
    // ---------------------------------------------------------------- maps

    /// <summary>BPF_MAP_CREATE.</summary>
    public static BpfMapHandle MapCreate(BpfMapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        bpf_map_create_attr attr = default;
        attr.map_type = (uint)spec.Type;
        attr.key_size = spec.KeySize;
        attr.value_size = spec.ValueSize;
        attr.max_entries = spec.MaxEntries;
        attr.map_flags = (uint)spec.Flags;
        attr.map_extra = spec.MapExtra;
        BpfSyscall.CopyName(attr.map_name, 16, SanitizeName(spec.Name));
        var inner = spec.InnerMap;
        var addRef = false;
        try
        {
            if (inner is not null)
            {
                inner.DangerousAddRef(ref addRef);
                attr.inner_map_fd = (uint)inner.Fd;
            }

            return new BpfMapHandle(BpfSyscall.InvokeFd(BpfCommand.MapCreate, &attr, $"map '{spec.Name}' ({spec.Type}, key {spec.KeySize}, value {spec.ValueSize}, max {spec.MaxEntries}, flags {spec.Flags})"));
        }
        finally
        {
            if (addRef)
            {
                inner!.DangerousRelease();
            }
        }
    }

    /// <summary>BPF_MAP_LOOKUP_ELEM. Returns false when the key is missing (ENOENT).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MapLookup(BpfMapHandle map, ReadOnlySpan<byte> key, Span<byte> value, ulong flags = 0)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            bpf_map_elem_attr attr = default;
            attr.map_fd = (uint)map.Fd;
            attr.key = (ulong)k;
            attr.value = (ulong)v;
            attr.flags = flags;
            return ElemResult(BpfCommand.MapLookupElem, BpfSyscall.Invoke(BpfCommand.MapLookupElem, &attr, out var errno), errno);
        }
    }

    /// <summary>BPF_MAP_UPDATE_ELEM.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MapUpdate(BpfMapHandle map, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, BpfUpdateFlags flags = BpfUpdateFlags.Any)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            bpf_map_elem_attr attr = default;
            attr.map_fd = (uint)map.Fd;
            attr.key = (ulong)k;
            attr.value = (ulong)v;
            attr.flags = (ulong)flags;
            if (BpfSyscall.Invoke(BpfCommand.MapUpdateElem, &attr, out var errno) < 0)
            {
                ThrowHelper.ThrowBpf(BpfCommand.MapUpdateElem, errno, UpdateDetail(errno, flags));
            }
        }
    }

    /// <summary>BPF_MAP_UPDATE_ELEM that reports EEXIST/ENOENT (from the update flags) as false instead of throwing.</summary>
    public static bool TryMapUpdate(BpfMapHandle map, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, BpfUpdateFlags flags)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            bpf_map_elem_attr attr = default;
            attr.map_fd = (uint)map.Fd;
            attr.key = (ulong)k;
            attr.value = (ulong)v;
            attr.flags = (ulong)flags;
            if (BpfSyscall.Invoke(BpfCommand.MapUpdateElem, &attr, out var errno) >= 0)
            {
                return true;
            }

            if (errno is Errno.EEXIST or Errno.ENOENT)
            {
                return false;
            }

            ThrowHelper.ThrowBpf(BpfCommand.MapUpdateElem, errno, UpdateDetail(errno, flags));
            return false;
        }
    }

    /// <summary>BPF_MAP_DELETE_ELEM. Returns false when the key is missing.</summary>
    public static bool MapDelete(BpfMapHandle map, ReadOnlySpan<byte> key)
    {
        fixed (byte* k = key)
        {
            bpf_map_elem_attr attr = default;
            attr.map_fd = (uint)map.Fd;
            attr.key = (ulong)k;
            return ElemResult(BpfCommand.MapDeleteElem, BpfSyscall.Invoke(BpfCommand.MapDeleteElem, &attr, out var errno), errno);
        }
    }

    /// <summary>BPF_MAP_GET_NEXT_KEY. Pass an empty <paramref name="key"/> for the first key. Returns false after the last key.</summary>
    public static bool MapGetNextKey(BpfMapHandle map, ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        fixed (byte* k = key)
        fixed (byte* n = nextKey)
        {
            bpf_map_elem_attr attr = default;
            attr.map_fd = (uint)map.Fd;
            attr.key = key.IsEmpty ? 0 : (ulong)k;
            attr.value = (ulong)n;
            return ElemResult(BpfCommand.MapGetNextKey, BpfSyscall.Invoke(BpfCommand.MapGetNextKey, &attr, out var errno), errno);
        }
    }

    /// <summary>BPF_MAP_LOOKUP_AND_DELETE_ELEM (also pops queues and stacks with an empty key). Returns false when missing.</summary>
    public static bool MapLookupAndDelete(BpfMapHandle map, ReadOnlySpan<byte> key, Span<byte> value)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            bpf_map_elem_attr attr = default;
            attr.map_fd = (uint)map.Fd;
            attr.key = key.IsEmpty ? 0 : (ulong)k;
            attr.value = (ulong)v;
            return ElemResult(BpfCommand.MapLookupAndDeleteElem, BpfSyscall.Invoke(BpfCommand.MapLookupAndDeleteElem, &attr, out var errno), errno);
        }
    }

    /// <summary>BPF_MAP_FREEZE: user space can no longer write the map.</summary>
    public static void MapFreeze(BpfMapHandle map)
    {
        bpf_map_elem_attr attr = default;
        attr.map_fd = (uint)map.Fd;
        BpfSyscall.InvokeOrThrow(BpfCommand.MapFreeze, &attr);
    }

    /// <summary>
    /// One batch of BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH, DELETE_BATCH). <paramref name="count"/> holds the
    /// capacity in elements on entry and the number processed on return. Returns false when the map is exhausted
    /// (ENOENT), in which case <paramref name="count"/> still holds the last partial batch.
    /// </summary>
    /// <param name="command">One of the three lookup/delete batch commands.</param>
    /// <param name="map">The map.</param>
    /// <param name="inBatch">Opaque position from the previous call's <paramref name="outBatch"/>, or empty to start.</param>
    /// <param name="outBatch">Receives the position to continue from (key-sized for hash maps, 4 bytes for arrays).</param>
    /// <param name="keys">Key buffer (count x key size).</param>
    /// <param name="values">Value buffer (count x value size, per-CPU: x possible CPUs x rounded size).</param>
    /// <param name="count">Capacity in, processed count out.</param>
    /// <param name="elemFlags">Element flags.</param>
    public static bool MapBatch(BpfCommand command, BpfMapHandle map, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags = 0)
    {
        if (command is not (BpfCommand.MapLookupBatch or BpfCommand.MapLookupAndDeleteBatch or BpfCommand.MapDeleteBatch))
        {
            throw new ArgumentOutOfRangeException(nameof(command), command, "Expected a lookup or delete batch command.");
        }

        fixed (byte* ib = inBatch)
        fixed (byte* ob = outBatch)
        fixed (byte* k = keys)
        fixed (byte* v = values)
        {
            bpf_map_batch_attr attr = default;
            attr.map_fd = (uint)map.Fd;
            attr.in_batch = inBatch.IsEmpty ? 0 : (ulong)ib;
            attr.out_batch = (ulong)ob;
            attr.keys = (ulong)k;
            attr.values = (ulong)v;
            attr.count = count;
            attr.elem_flags = elemFlags;
            var r = BpfSyscall.Invoke(command, &attr, out var errno);
            count = attr.count;
            if (r >= 0)
            {
                return true;
            }

            if (errno == Errno.ENOENT)
            {
                return false;
            }

            ThrowHelper.ThrowBpf(command, errno);
            return false;
        }
    }

    /// <summary>BPF_MAP_UPDATE_BATCH. <paramref name="count"/> holds the number of elements on entry and the number written on return.</summary>
    public static void MapUpdateBatch(BpfMapHandle map, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, BpfUpdateFlags elemFlags = BpfUpdateFlags.Any)
    {
        fixed (byte* k = keys)
        fixed (byte* v = values)
        {
            bpf_map_batch_attr attr = default;
            attr.map_fd = (uint)map.Fd;
            attr.keys = (ulong)k;
            attr.values = (ulong)v;
            attr.count = count;
            attr.elem_flags = (ulong)elemFlags;
            var r = BpfSyscall.Invoke(BpfCommand.MapUpdateBatch, &attr, out var errno);
            count = attr.count;
            if (r < 0)
            {
                ThrowHelper.ThrowBpf(BpfCommand.MapUpdateBatch, errno, $"{count} elements written before the failure");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool ElemResult(BpfCommand cmd, long r, int errno)
    {
        if (r >= 0)
        {
            return true;
        }

        if (errno == Errno.ENOENT)
        {
            return false;
        }

        ThrowHelper.ThrowBpf(cmd, errno);
        return false;
    }

    private static string? UpdateDetail(int errno, BpfUpdateFlags flags) => errno switch
    {
        Errno.EEXIST => $"the key exists and the update flags are {flags}",
        Errno.ENOENT => $"the key is missing and the update flags are {flags}",
        Errno.E2BIG => "the map is full",
        Errno.EPERM => "the map is read-only for this descriptor or frozen",
        _ => null,
    };

    // ---------------------------------------------------------------- programs

    /// <summary>BPF_PROG_LOAD. On failure, loads again with a verifier log and throws <see cref="BpfVerifierException"/>.</summary>
    public static BpfProgramHandle ProgramLoad(BpfProgramSpec spec, BpfProgramLoadOptions? options = null)
        => ProgramLoad(spec, options, out _);

    /// <summary>BPF_PROG_LOAD, returning the verifier log when <see cref="BpfProgramLoadOptions.LogLevel"/> asks for one.</summary>
    public static BpfProgramHandle ProgramLoad(BpfProgramSpec spec, BpfProgramLoadOptions? options, out string verifierLog)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new BpfProgramLoadOptions();
        if (spec.Instructions.Count == 0)
        {
            throw new ArgumentException($"Program '{spec.Name}' has no instructions.", nameof(spec));
        }

        var insns = spec.Instructions as BpfInstruction[] ?? spec.Instructions.ToArray();
        var license = System.Text.Encoding.UTF8.GetBytes(spec.License + "\0");
        var level = options.LogLevel;
        var logSize = level > 0 ? Math.Max(options.LogSize, 128) : 0;
        verifierLog = string.Empty;
        while (true)
        {
            var log = logSize > 0 ? ArrayPool<byte>.Shared.Rent(logSize) : null;
            try
            {
                fixed (BpfInstruction* pi = insns)
                fixed (byte* pl = license)
                fixed (byte* plog = log)
                {
                    bpf_prog_load_attr attr = default;
                    attr.prog_type = (uint)spec.Type;
                    attr.insn_cnt = (uint)insns.Length;
                    attr.insns = (ulong)pi;
                    attr.license = (ulong)pl;
                    attr.prog_flags = spec.Flags;
                    attr.expected_attach_type = spec.ExpectedAttachType is { } eat ? (uint)eat : 0;
                    BpfSyscall.CopyName(attr.prog_name, 16, SanitizeName(spec.Name));
                    if (log is not null)
                    {
                        log[0] = 0;
                        attr.log_level = level;
                        attr.log_size = (uint)logSize;
                        attr.log_buf = (ulong)plog;
                    }

                    long r;
                    int errno;
                    var attempts = 0;
                    do
                    {
                        r = BpfSyscall.Invoke(BpfCommand.ProgLoad, &attr, out errno);
                    }
                    while (r < 0 && errno == Errno.EAGAIN && ++attempts < 5);

                    var text = log is null ? string.Empty : ReadLog(log, logSize);
                    if (r >= 0)
                    {
                        verifierLog = text;
                        return new BpfProgramHandle((int)r);
                    }

                    if (errno == Errno.ENOSPC && log is not null)
                    {
                        // The log did not fit: the kernel fails even a valid program. Retry with the size it asks for.
                        var want = attr.log_true_size > logSize ? (int)attr.log_true_size : logSize * 4;
                        if (want > options.MaxLogSize)
                        {
                            throw new BpfException(BpfCommand.ProgLoad, errno, $"program '{spec.Name}': verifier log needs {want} bytes, more than the {options.MaxLogSize} allowed");
                        }

                        logSize = want;
                        continue;
                    }

                    if (log is null && errno is Errno.EACCES or Errno.EINVAL or Errno.E2BIG or Errno.EPERM or Errno.EFAULT)
                    {
                        // Load again with a log so the error explains itself.
                        level = 1;
                        logSize = Math.Max(options.LogSize, 128);
                        continue;
                    }

                    if (!string.IsNullOrWhiteSpace(text) && errno is Errno.EACCES or Errno.EINVAL or Errno.E2BIG or Errno.EFAULT)
                    {
                        throw new BpfVerifierException(errno, spec.Name, text);
                    }

                    throw new BpfException(BpfCommand.ProgLoad, errno, ProgLoadDetail(spec, errno, text));
                }
            }
            finally
            {
                if (log is not null)
                {
                    ArrayPool<byte>.Shared.Return(log);
                }
            }
        }
    }

    private static string ProgLoadDetail(BpfProgramSpec spec, int errno, string log)
    {
        var what = $"program '{spec.Name}' ({spec.Type})";
        var tail = string.IsNullOrWhiteSpace(log) ? string.Empty : $"; verifier: {BpfVerifierException.Tail(log, 3)}";
        return errno == Errno.EPERM
            ? $"{what}: not permitted (missing capability, or a program type this kernel refuses){tail}"
            : what + tail;
    }

    private static string ReadLog(byte[] log, int size)
    {
        var span = log.AsSpan(0, size);
        var end = span.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    /// <summary>Keeps only the characters the kernel accepts in object names (alphanumerics, '_' and '.'), truncated to 15 bytes.</summary>
    public static string SanitizeName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return string.Empty;
        }

        Span<char> buf = stackalloc char[15];
        var n = 0;
        foreach (var c in name)
        {
            if (n == buf.Length)
            {
                break;
            }

            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.')
            {
                buf[n++] = c;
            }
        }

        return new string(buf[..n]);
    }

    // ---------------------------------------------------------------- pins

    /// <summary>BPF_OBJ_PIN: pins a map, program or link at a path inside a bpffs mount.</summary>
    public static void Pin(BpfFileDescriptor handle, string path)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var p = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            bpf_obj_pin_attr attr = default;
            attr.pathname = (ulong)pp;
            attr.bpf_fd = (uint)handle.Fd;
            var r = BpfSyscall.Invoke(BpfCommand.ObjPin, &attr, out var errno);
            if (r < 0)
            {
                ThrowHelper.ThrowBpf(BpfCommand.ObjPin, errno, errno switch
                {
                    Errno.EEXIST => $"'{path}' is already pinned",
                    Errno.EPERM => $"'{path}' is not inside a bpffs mount (or permission denied)",
                    Errno.ENOENT => $"the directory of '{path}' does not exist",
                    _ => path,
                });
            }
        }
    }

    /// <summary>BPF_OBJ_GET for a pinned map.</summary>
    public static BpfMapHandle GetPinnedMap(string path, BpfMapFlags openFlags = BpfMapFlags.None)
        => new(ObjGet(path, (uint)openFlags, "bpf-map"));

    /// <summary>BPF_OBJ_GET for a pinned program.</summary>
    public static BpfProgramHandle GetPinnedProgram(string path) => new(ObjGet(path, 0, "bpf-prog"));

    /// <summary>BPF_OBJ_GET for a pinned link.</summary>
    public static BpfLinkHandle GetPinnedLink(string path) => new(ObjGet(path, 0, "bpf_link"));

    /// <summary>Which kind of BPF object a descriptor refers to ("bpf-map", "bpf-prog", "bpf_link", ...), from /proc/self/fd.</summary>
    public static string DescribeFd(int fd)
    {
        var target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? string.Empty;
        return target.StartsWith("anon_inode:", StringComparison.Ordinal) ? target["anon_inode:".Length..] : target;
    }

    private static int ObjGet(string path, uint flags, string expectedKind)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var p = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* pp = p)
        {
            bpf_obj_pin_attr attr = default;
            attr.pathname = (ulong)pp;
            attr.file_flags = flags;
            var r = BpfSyscall.Invoke(BpfCommand.ObjGet, &attr, out var errno);
            if (r < 0)
            {
                ThrowHelper.ThrowBpf(BpfCommand.ObjGet, errno, errno == Errno.ENOENT ? $"nothing is pinned at '{path}'" : path);
            }

            fd = (int)r;
        }

        var kind = DescribeFd(fd);
        // Link descriptors are named "bpf_link" when created and "bpf-link" when reopened from a pin or id.
        if (kind.Replace('_', '-') != expectedKind.Replace('_', '-'))
        {
            Native.Interop.Libc.Close(fd);
            throw new InvalidOperationException($"The object pinned at '{path}' is a {kind}, not a {expectedKind}.");
        }

        return fd;
    }

    // ---------------------------------------------------------------- ids

    /// <summary>BPF_PROG_GET_NEXT_ID. Returns false after the last program.</summary>
    public static bool GetNextProgramId(uint startId, out uint nextId) => GetNextId(BpfCommand.ProgGetNextId, startId, out nextId);

    /// <summary>BPF_MAP_GET_NEXT_ID. Returns false after the last map.</summary>
    public static bool GetNextMapId(uint startId, out uint nextId) => GetNextId(BpfCommand.MapGetNextId, startId, out nextId);

    /// <summary>BPF_LINK_GET_NEXT_ID. Returns false after the last link.</summary>
    public static bool GetNextLinkId(uint startId, out uint nextId) => GetNextId(BpfCommand.LinkGetNextId, startId, out nextId);

    /// <summary>BPF_PROG_GET_FD_BY_ID.</summary>
    public static BpfProgramHandle ProgramFromId(uint id) => new(FdById(BpfCommand.ProgGetFdById, id, 0));

    /// <summary>BPF_MAP_GET_FD_BY_ID.</summary>
    public static BpfMapHandle MapFromId(uint id, BpfMapFlags openFlags = BpfMapFlags.None) => new(FdById(BpfCommand.MapGetFdById, id, (uint)openFlags));

    /// <summary>BPF_LINK_GET_FD_BY_ID.</summary>
    public static BpfLinkHandle LinkFromId(uint id) => new(FdById(BpfCommand.LinkGetFdById, id, 0));

    private static bool GetNextId(BpfCommand cmd, uint start, out uint next)
    {
        bpf_get_id_attr attr = default;
        attr.start_id = start;
        var r = BpfSyscall.Invoke(cmd, &attr, out var errno);
        next = attr.next_id;
        if (r >= 0)
        {
            return true;
        }

        if (errno == Errno.ENOENT)
        {
            return false;
        }

        ThrowHelper.ThrowBpf(cmd, errno);
        return false;
    }

    private static int FdById(BpfCommand cmd, uint id, uint flags)
    {
        bpf_get_id_attr attr = default;
        attr.start_id = id;
        attr.open_flags = flags;
        return BpfSyscall.InvokeFd(cmd, &attr, $"id {id}");
    }

    // ---------------------------------------------------------------- info

    /// <summary>BPF_OBJ_GET_INFO_BY_FD for a map.</summary>
    public static BpfMapInfo GetMapInfo(BpfMapHandle map)
    {
        bpf_map_info info = default;
        ObjInfo(map, &info, (uint)sizeof(bpf_map_info));
        return new BpfMapInfo(info.id, BpfSyscall.ReadName(info.name, 16), (BpfMapType)info.type, info.key_size, info.value_size, info.max_entries, (BpfMapFlags)info.map_flags)
        {
            BtfId = info.btf_id,
            MapExtra = info.map_extra,
        };
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD for a program, including its map ids (two calls: count, then buffer).</summary>
    public static BpfProgramInfo GetProgramInfo(BpfProgramHandle program)
    {
        bpf_prog_info info = default;
        ObjInfo(program, &info, (uint)sizeof(bpf_prog_info));
        var mapIds = Array.Empty<uint>();
        if (info.nr_map_ids > 0)
        {
            var ids = new uint[info.nr_map_ids];
            fixed (uint* pids = ids)
            {
                bpf_prog_info second = default;
                second.nr_map_ids = (uint)ids.Length;
                second.map_ids = (ulong)pids;
                ObjInfo(program, &second, (uint)sizeof(bpf_prog_info));
                mapIds = second.nr_map_ids < ids.Length ? ids[..(int)second.nr_map_ids] : ids;
                info = second;
            }
        }

        return new BpfProgramInfo
        {
            Id = info.id,
            Name = BpfSyscall.ReadName(info.name, 16),
            Type = (BpfProgramType)info.type,
            Tag = Convert.ToHexStringLower(new ReadOnlySpan<byte>(info.tag, 8)),
            LoadTimeNs = info.load_time,
            CreatedByUid = info.created_by_uid,
            MapIds = mapIds,
            RunCount = info.run_cnt,
            RunTimeNs = info.run_time_ns,
            RecursionMisses = info.recursion_misses,
            VerifiedInstructions = info.verified_insns,
            GplCompatible = (info.gpl_compatible & 1) != 0,
            XlatedLength = info.xlated_prog_len,
            JitedLength = info.jited_prog_len,
            BtfId = info.btf_id,
            IfIndex = info.ifindex,
        };
    }

    internal static void ObjInfo<T>(BpfFileDescriptor handle, T* info, uint size) where T : unmanaged
    {
        bpf_obj_info_attr attr = default;
        attr.bpf_fd = (uint)handle.Fd;
        attr.info_len = size;
        attr.info = (ulong)info;
        BpfSyscall.InvokeOrThrow(BpfCommand.ObjGetInfoByFd, &attr);
    }

    /// <summary>The kernel's memory figure for a map or program (<c>memlock:</c> in /proc/self/fdinfo), in bytes, or null if absent.</summary>
    public static long? GetMemlock(BpfFileDescriptor handle)
    {
        foreach (var line in File.ReadLines($"/proc/self/fdinfo/{handle.Fd}"))
        {
            if (line.StartsWith("memlock:", StringComparison.Ordinal) && long.TryParse(line.AsSpan(8).Trim(), out var v))
            {
                return v;
            }
        }

        return null;
    }

    /// <summary>The number of possible CPUs (from /sys/devices/system/cpu/possible); per-CPU values come in this many slots.</summary>
    public static int PossibleCpuCount => s_possibleCpus ??= CpuList.Count(File.ReadAllText("/sys/devices/system/cpu/possible"));

    /// <summary>The number of online CPUs (from /sys/devices/system/cpu/online).</summary>
    public static int OnlineCpuCount => CpuList.Count(File.ReadAllText("/sys/devices/system/cpu/online"));

    private static int? s_possibleCpus;
}

/// <summary>Parses kernel CPU lists such as <c>0-3,5,7-8</c>.</summary>
public static class CpuList
{
    /// <summary>The CPU numbers a list names.</summary>
    public static IReadOnlyList<int> Parse(string list)
    {
        var result = new List<int>();
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                result.Add(int.Parse(part, System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                var lo = int.Parse(part.AsSpan(0, dash), System.Globalization.CultureInfo.InvariantCulture);
                var hi = int.Parse(part.AsSpan(dash + 1), System.Globalization.CultureInfo.InvariantCulture);
                for (var c = lo; c <= hi; c++)
                {
                    result.Add(c);
                }
            }
        }

        return result;
    }

    /// <summary>The highest CPU number in the list plus one (the slot count per-CPU maps use).</summary>
    public static int Count(string list)
    {
        var cpus = Parse(list);
        return cpus.Count == 0 ? 0 : cpus.Max() + 1;
    }
}
