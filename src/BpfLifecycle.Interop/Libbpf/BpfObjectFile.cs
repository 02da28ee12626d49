// An eBPF ELF object opened with libbpf but not yet loaded: what the object file says (programs, maps, globals),
// plus the adjustments made before loading (reused maps, autoload, initial values of globals).
using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using BpfLifecycle.Interop.Native;
using NativeApi = BpfLifecycle.Interop.Native.Interop;

namespace BpfLifecycle.Interop;

/// <summary>A program of an ELF object, as the object file defines it.</summary>
/// <param name="Name">Program (function) name.</param>
/// <param name="SectionName">ELF section, e.g. <c>xdp</c> or <c>tracepoint/syscalls/sys_enter_openat</c>.</param>
/// <param name="Type">Program type libbpf derived from the section name.</param>
/// <param name="ExpectedAttachType">Expected attach type libbpf derived from the section name, or null when the section implies none.</param>
/// <param name="InstructionCount">Instructions in the object file (before libbpf appends subprograms at load).</param>
/// <param name="Autoload">Whether <see cref="BpfObjectFile.Load"/> loads this program.</param>
public sealed record BpfObjectProgram(string Name, string SectionName, BpfProgramType Type, BpfAttachType? ExpectedAttachType, int InstructionCount, bool Autoload);

/// <summary>A map of an ELF object, as the object file defines it (or as a reused map redefined it).</summary>
/// <param name="Name">Map name as libbpf reports it (<c>obj_name.rodata</c> style for the .data/.rodata/.bss maps).</param>
/// <param name="Spec">Type, sizes, capacity and flags.</param>
/// <param name="SectionName">For global-variable maps, the ELF section they hold (<c>.rodata</c>, <c>.data</c>, <c>.data.custom</c>); otherwise null.</param>
/// <param name="IsReused">True when an existing map will be used instead of creating one.</param>
public sealed record BpfObjectMap(string Name, BpfMapSpec Spec, string? SectionName, bool IsReused)
{
    /// <summary>True for the maps libbpf makes for global variables (<c>.data</c>, <c>.rodata</c>, <c>.bss</c>, <c>.kconfig</c> sections).</summary>
    public bool IsInternal => SectionName is not null;
}

/// <summary>A global variable of an ELF object that can be set before loading.</summary>
/// <param name="Name">Variable name.</param>
/// <param name="SectionName">The section holding it (<c>.rodata</c>, <c>.data</c>, <c>.bss</c>, or a custom <c>.data.*</c>/<c>.rodata.*</c>).</param>
/// <param name="Offset">Byte offset in the section.</param>
/// <param name="Size">Size in bytes.</param>
public sealed record BpfObjectVariable(string Name, string SectionName, int Offset, int Size);

/// <summary>How <see cref="BpfObjectFile.Open(string, BpfObjectOpenOptions?)"/> opens an object.</summary>
public sealed class BpfObjectOpenOptions
{
    /// <summary>
    /// Directory (inside a bpffs mount) where maps declared with <c>__uint(pinning, LIBBPF_PIN_BY_NAME)</c> are
    /// pinned at load, as <c>&lt;PinRootPath&gt;/&lt;map name&gt;</c>; a map already pinned there is reused (libbpf
    /// checks that it matches). Null means libbpf's default, <c>/sys/fs/bpf</c>.
    /// </summary>
    public string? PinRootPath { get; init; }
}

/// <summary>
/// An eBPF ELF object opened with libbpf, before loading: the programs, maps and global variables it defines, and
/// the changes to make before <see cref="Load"/> (<see cref="ReuseMap"/>, <see cref="SetAutoload"/>,
/// <see cref="SetGlobal(string, ReadOnlySpan{byte})"/>). Not thread-safe. Disposing closes the libbpf object; a
/// <see cref="LoadedBpfObject"/> owns its own descriptors and stays valid.
/// </summary>
public sealed unsafe partial class BpfObjectFile : IDisposable
{
    private readonly LibbpfObjectHandle _object;
    // bpf_map__reuse_fd renames the object's map after the reused one; the object's own names stay the SDK's keys.
    private readonly Dictionary<string, nint> _reusedByName = new(StringComparer.Ordinal);
    private readonly Dictionary<nint, string> _reusedNames = new();
    private State _state;

    private enum State
    {
        Open,
        Loaded,
        LoadFailed,
    }

    private BpfObjectFile(LibbpfObjectHandle obj, string origin)
    {
        _object = obj;
        Origin = origin;
        Name = Libbpf.ReadString(NativeApi.Libbpf.ObjectName(obj.DangerousGetHandle())) ?? string.Empty;
    }

    /// <summary>The object's name (the file's base name without extension, or the name given to <see cref="Open(ReadOnlyMemory{byte}, string, BpfObjectOpenOptions?)"/>).</summary>
    public string Name { get; }

    /// <summary>Where the object came from: a path, or <c>memory:</c> and the given name.</summary>
    public string Origin { get; }

    /// <summary>Opens an ELF object file (<c>bpf_object__open_file</c>).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="LibbpfException">libbpf cannot parse the object; the message carries libbpf's warnings.</exception>
    /// <exception cref="LibbpfUnavailableException">libbpf.so.1 is missing or too old.</exception>
    public static BpfObjectFile Open(string path, BpfObjectOpenOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"BPF object file '{path}' does not exist.", path);
        }

        var p = Encoding.UTF8.GetBytes(path + "\0");
        var pinRoot = PinRoot(options);
        using var capture = Libbpf.Capture();
        nint obj;
        int errno;
        fixed (byte* pp = p)
        fixed (byte* pr = pinRoot)
        {
            bpf_object_open_opts_init(out var opts);
            opts.pin_root_path = pr;
            obj = NativeApi.Libbpf.ObjectOpenFile(pp, &opts);
            errno = Marshal.GetLastPInvokeError();
        }

        return Wrap(obj, errno, $"bpf_object__open_file('{path}')", path, capture);
    }

    /// <summary>Opens an ELF object held in memory (<c>bpf_object__open_mem</c>). The bytes are only read during this call.</summary>
    /// <param name="elf">The object file's bytes.</param>
    /// <param name="name">Object name (used for the names of global-variable maps and in messages).</param>
    /// <param name="options">Open options, or null for libbpf's defaults.</param>
    /// <exception cref="LibbpfException">libbpf cannot parse the object; the message carries libbpf's warnings.</exception>
    public static BpfObjectFile Open(ReadOnlyMemory<byte> elf, string name, BpfObjectOpenOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (elf.IsEmpty)
        {
            throw new ArgumentException($"The ELF image for object '{name}' is empty.", nameof(elf));
        }

        var n = Encoding.UTF8.GetBytes(name + "\0");
        var pinRoot = PinRoot(options);
        using var capture = Libbpf.Capture();
        using var pin = elf.Pin();
        nint obj;
        int errno;
        fixed (byte* pn = n)
        fixed (byte* pr = pinRoot)
        {
            bpf_object_open_opts_init(out var opts);
            opts.object_name = pn;
            opts.pin_root_path = pr;
            obj = NativeApi.Libbpf.ObjectOpenMem(pin.Pointer, (nuint)elf.Length, &opts);
            errno = Marshal.GetLastPInvokeError();
        }

        return Wrap(obj, errno, $"bpf_object__open_mem('{name}', {elf.Length} bytes)", "memory:" + name, capture);
    }

    private static byte[]? PinRoot(BpfObjectOpenOptions? options)
    {
        if (options?.PinRootPath is not { } root)
        {
            return null;
        }

        if (root.Length == 0 || !Directory.Exists(root))
        {
            throw new ArgumentException($"Pin root '{root}' is not an existing directory (create it inside a bpffs mount such as /sys/fs/bpf first).", nameof(options));
        }

        return Encoding.UTF8.GetBytes(root + "\0");
    }

    private static void bpf_object_open_opts_init(out bpf_object_open_opts opts)
    {
        opts = default;
        opts.sz = (nuint)sizeof(bpf_object_open_opts);
    }

    private static BpfObjectFile Wrap(nint obj, int errno, string operation, string origin, Libbpf.CaptureScope capture)
    {
        if (obj == 0)
        {
            throw new LibbpfException(operation, errno == 0 ? Errno.EINVAL : errno, capture.Messages.ToArray());
        }

        return new BpfObjectFile(new LibbpfObjectHandle(obj), origin);
    }

    /// <summary>The programs the object defines, in object order (live: reflects <see cref="SetAutoload"/>).</summary>
    public IReadOnlyList<BpfObjectProgram> Programs
    {
        get
        {
            var obj = Handle;
            var list = new List<BpfObjectProgram>();
            for (var p = NativeApi.Libbpf.ObjectNextProgram(obj, 0); p != 0; p = NativeApi.Libbpf.ObjectNextProgram(obj, p))
            {
                list.Add(DescribeProgram(p));
            }

            GC.KeepAlive(this);
            return list;
        }
    }

    /// <summary>The maps the object defines, including the maps libbpf makes for global variables (live: reflects <see cref="ReuseMap"/>).</summary>
    public IReadOnlyList<BpfObjectMap> Maps
    {
        get
        {
            var obj = Handle;
            var list = new List<BpfObjectMap>();
            for (var m = NativeApi.Libbpf.ObjectNextMap(obj, 0); m != 0; m = NativeApi.Libbpf.ObjectNextMap(obj, m))
            {
                list.Add(DescribeMap(m));
            }

            GC.KeepAlive(this);
            return list;
        }
    }

    /// <summary>The global variables in the object's data sections (found through its BTF), in section order.</summary>
    public IReadOnlyList<BpfObjectVariable> Variables
    {
        get
        {
            var obj = Handle;
            var btf = NativeApi.Libbpf.ObjectBtf(obj);
            var list = new List<BpfObjectVariable>();
            if (btf == 0)
            {
                return list;
            }

            var count = NativeApi.Libbpf.BtfTypeCount(btf);
            for (uint id = 1; id < count; id++)
            {
                var t = NativeApi.Libbpf.BtfTypeById(btf, id);
                if (t is null || t->Kind != NativeApi.Libbpf.BTF_KIND_DATASEC)
                {
                    continue;
                }

                var section = Libbpf.ReadString(NativeApi.Libbpf.BtfNameByOffset(btf, t->name_off)) ?? string.Empty;
                if (FindMap(section) == 0)
                {
                    // DATASECs without a map (.maps, license) hold no settable variables.
                    continue;
                }

                var infos = (btf_var_secinfo*)(t + 1);
                for (var i = 0; i < t->Vlen; i++)
                {
                    var v = NativeApi.Libbpf.BtfTypeById(btf, infos[i].type);
                    if (v is null || v->Kind != NativeApi.Libbpf.BTF_KIND_VAR)
                    {
                        continue;
                    }

                    var name = Libbpf.ReadString(NativeApi.Libbpf.BtfNameByOffset(btf, v->name_off)) ?? string.Empty;
                    list.Add(new BpfObjectVariable(name, section, (int)infos[i].offset, (int)infos[i].size));
                }
            }

            GC.KeepAlive(this);
            return list;
        }
    }

    /// <summary>The program named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such program; the message lists the object's programs.</exception>
    public BpfObjectProgram GetProgram(string name)
    {
        var p = FindProgram(name);
        var result = DescribeProgram(p);
        GC.KeepAlive(this);
        return result;
    }

    /// <summary>The map named <paramref name="name"/> (global-variable maps also by section name, e.g. <c>.rodata</c>).</summary>
    /// <exception cref="KeyNotFoundException">No such map; the message lists the object's maps.</exception>
    public BpfObjectMap GetMap(string name)
    {
        var m = FindMapOrThrow(name);
        var result = DescribeMap(m);
        GC.KeepAlive(this);
        return result;
    }

    /// <summary>Chooses whether <see cref="Load"/> loads a program (<c>bpf_program__set_autoload</c>).</summary>
    public void SetAutoload(string program, bool autoload)
    {
        RequireOpen(nameof(SetAutoload));
        var p = FindProgram(program);
        var r = NativeApi.Libbpf.ProgramSetAutoload(p, autoload);
        GC.KeepAlive(this);
        if (r < 0)
        {
            throw new LibbpfException($"bpf_program__set_autoload('{program}')", -r, Array.Empty<LibbpfMessage>());
        }
    }

    /// <summary>
    /// Makes the object use an existing map instead of creating <paramref name="name"/> (<c>bpf_map__reuse_fd</c>):
    /// its entries are what the programs see after load. The object duplicates the descriptor; the caller keeps
    /// ownership of <paramref name="map"/>.
    /// </summary>
    /// <exception cref="BpfMapIncompatibleException">The existing map's type, key or value size, capacity or flags differ from the object's definition.</exception>
    public void ReuseMap(string name, BpfMapHandle map)
    {
        ArgumentNullException.ThrowIfNull(map);
        RequireOpen(nameof(ReuseMap));
        var m = FindMapOrThrow(name);
        var before = DescribeMap(m);
        var expected = before.Spec;
        var info = Bpf.GetMapInfo(map);
        var actual = info.ToSpec();
        var diff = BpfMapIncompatibleException.Compare(expected, actual);
        if (diff.Count > 0)
        {
            // libbpf itself would silently adopt the existing map's definition and leave the mismatch to the verifier.
            throw new BpfMapIncompatibleException(name, diff);
        }

        var added = false;
        try
        {
            map.DangerousAddRef(ref added);
            using var capture = Libbpf.Capture();
            var r = NativeApi.Libbpf.MapReuseFd(m, map.Fd);
            if (r < 0)
            {
                throw new LibbpfException($"bpf_map__reuse_fd('{name}', map id {info.Id})", -r, capture.Messages.ToArray());
            }

            _reusedByName[before.Name] = m;
            _reusedNames[m] = before.Name;
        }
        finally
        {
            if (added)
            {
                map.DangerousRelease();
            }

            GC.KeepAlive(this);
        }
    }

    /// <summary>
    /// Sets the initial value of a global variable in <c>.rodata</c>, <c>.data</c>, <c>.bss</c> or a custom data
    /// section, found by name through the object's BTF. <c>const volatile</c> variables in <c>.rodata</c> are
    /// frozen at load, so the verifier can prune code that depends on them.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No variable of that name; the message lists the settable variables.</exception>
    /// <exception cref="ArgumentException"><paramref name="value"/> is not the variable's size.</exception>
    public void SetGlobal(string variableName, ReadOnlySpan<byte> value)
    {
        RequireOpen(nameof(SetGlobal));
        var v = FindVariable(variableName);
        if (value.Length != v.Size)
        {
            throw new ArgumentException($"Global '{variableName}' in {v.SectionName} of object '{Name}' is {v.Size} bytes; the value given is {value.Length} bytes.", nameof(value));
        }

        if (_reusedNames.ContainsKey(FindMap(v.SectionName)))
        {
            throw new InvalidOperationException($"Global '{variableName}' cannot be set: section {v.SectionName} of object '{Name}' reuses an existing map, whose contents the programs will see.");
        }

        var m = FindMap(v.SectionName);
        nuint size;
        var current = NativeApi.Libbpf.MapInitialValue(m, &size);
        if (current is null || (ulong)v.Offset + (ulong)v.Size > size)
        {
            throw new InvalidOperationException($"Section {v.SectionName} of object '{Name}' has no initial value that holds '{variableName}' (offset {v.Offset}, size {v.Size}, section {size} bytes).");
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)size);
        try
        {
            new ReadOnlySpan<byte>(current, (int)size).CopyTo(buffer);
            value.CopyTo(buffer.AsSpan(v.Offset, v.Size));
            fixed (byte* pb = buffer)
            {
                var r = NativeApi.Libbpf.MapSetInitialValue(m, pb, size);
                if (r < 0)
                {
                    throw new LibbpfException($"bpf_map__set_initial_value('{v.SectionName}')", -r, Array.Empty<LibbpfMessage>());
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            GC.KeepAlive(this);
        }
    }

    /// <summary>Sets a global variable from an unmanaged value (native byte order), e.g. <c>SetGlobal("verdict", 1u)</c>.</summary>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not the variable's size.</exception>
    public void SetGlobal<T>(string variableName, T value) where T : unmanaged
        => SetGlobal(variableName, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref value)));

    /// <summary>The current initial value of a global variable (what the object file holds, or what was set).</summary>
    public byte[] GetGlobal(string variableName)
    {
        ObjectDisposedException.ThrowIf(_object.IsClosed, this);
        if (_state != State.Open)
        {
            throw new InvalidOperationException($"Object '{Name}' is loaded: read globals from its data section map instead.");
        }

        var v = FindVariable(variableName);
        var m = FindMap(v.SectionName);
        nuint size;
        var current = NativeApi.Libbpf.MapInitialValue(m, &size);
        GC.KeepAlive(this);
        if (current is null || (ulong)v.Offset + (ulong)v.Size > size)
        {
            throw new InvalidOperationException($"Section {v.SectionName} of object '{Name}' has no initial value that holds '{variableName}'.");
        }

        return new ReadOnlySpan<byte>((byte*)current + v.Offset, v.Size).ToArray();
    }

    /// <summary>
    /// Creates the maps (or adopts reused ones) and loads every program whose autoload is on (<c>bpf_object__load</c>).
    /// Once called, the object cannot be loaded again, whether the load succeeded or not.
    /// </summary>
    /// <returns>The loaded programs and maps, as descriptors of their own.</returns>
    /// <exception cref="BpfVerifierException">The verifier rejected a program; carries its whole log.</exception>
    /// <exception cref="LibbpfException">Another failure (map creation, relocation, permissions); carries libbpf's messages.</exception>
    public LoadedBpfObject Load()
    {
        RequireOpen(nameof(Load));
        var obj = Handle;
        IReadOnlyList<LibbpfMessage> log;
        int r;
        using (var capture = Libbpf.Capture())
        {
            r = NativeApi.Libbpf.ObjectLoad(obj);
            log = capture.Messages.ToArray();
        }

        if (r < 0)
        {
            _state = State.LoadFailed;
            GC.KeepAlive(this);
            var error = -r;
            foreach (var message in log)
            {
                var match = VerifierLogPattern().Match(message.Text);
                if (match.Success)
                {
                    throw new BpfVerifierException(error, match.Groups["name"].Value, match.Groups["log"].Value);
                }
            }

            throw new LibbpfException($"bpf_object__load('{Name}')", error, log);
        }

        _state = State.Loaded;
        var programs = new Dictionary<string, BpfProgramHandle>(StringComparer.Ordinal);
        var maps = new Dictionary<string, BpfMapHandle>(StringComparer.Ordinal);
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            for (var p = NativeApi.Libbpf.ObjectNextProgram(obj, 0); p != 0; p = NativeApi.Libbpf.ObjectNextProgram(obj, p))
            {
                var fd = NativeApi.Libbpf.ProgramFd(p);
                if (fd >= 0)
                {
                    programs.Add(Libbpf.ReadString(NativeApi.Libbpf.ProgramName(p))!, new BpfProgramHandle(Dup(fd)));
                }
            }

            for (var m = NativeApi.Libbpf.ObjectNextMap(obj, 0); m != 0; m = NativeApi.Libbpf.ObjectNextMap(obj, m))
            {
                var fd = NativeApi.Libbpf.MapFd(m);
                if (fd < 0)
                {
                    continue;
                }

                var d = DescribeMap(m);
                maps.Add(d.Name, new BpfMapHandle(Dup(fd)));
                if (d.SectionName is { } s && s != d.Name)
                {
                    sections[s] = d.Name;
                }
            }
        }
        catch
        {
            foreach (var h in programs.Values)
            {
                h.Dispose();
            }

            foreach (var h in maps.Values)
            {
                h.Dispose();
            }

            throw;
        }

        GC.KeepAlive(this);
        return new LoadedBpfObject(Name, _object, programs, maps, sections, log);
    }

    /// <summary>Closes the libbpf object (<c>bpf_object__close</c>). Descriptors handed out by <see cref="Load"/> stay open.</summary>
    public void Dispose() => _object.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"BpfObjectFile({Name}, {Origin}, {_state})";

    [GeneratedRegex(@"prog '(?<name>[^']*)': -- BEGIN PROG LOAD LOG --\n(?<log>.*)-- END PROG LOAD LOG --", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex VerifierLogPattern();

    private nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_object.IsClosed, this);
            return _object.DangerousGetHandle();
        }
    }

    private void RequireOpen(string operation)
    {
        ObjectDisposedException.ThrowIf(_object.IsClosed, this);
        if (_state != State.Open)
        {
            throw new InvalidOperationException(_state == State.Loaded
                ? $"{operation} must happen before Load: object '{Name}' is already loaded."
                : $"{operation} is not possible: loading object '{Name}' failed; open it again to retry.");
        }
    }

    internal static int Dup(int fd)
    {
        var r = NativeApi.Libc.FcntlInt(fd, NativeApi.Libc.F_DUPFD_CLOEXEC, 0);
        if (r < 0)
        {
            ThrowHelper.ThrowKernel("fcntl(F_DUPFD_CLOEXEC)", Marshal.GetLastPInvokeError(), $"duplicating descriptor {fd}");
        }

        return r;
    }

    private nint FindProgram(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var obj = Handle;
        var names = new List<string>();
        for (var p = NativeApi.Libbpf.ObjectNextProgram(obj, 0); p != 0; p = NativeApi.Libbpf.ObjectNextProgram(obj, p))
        {
            var n = Libbpf.ReadString(NativeApi.Libbpf.ProgramName(p)) ?? string.Empty;
            if (n == name)
            {
                return p;
            }

            names.Add(n);
        }

        throw new KeyNotFoundException($"Object '{Name}' has no program '{name}'; its programs: {string.Join(", ", names)}.");
    }

    private nint FindMap(string name)
    {
        var obj = Handle;
        if (_reusedByName.TryGetValue(name, out var reused))
        {
            return reused;
        }

        var n = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* pn = n)
        {
            return NativeApi.Libbpf.ObjectFindMapByName(obj, pn);
        }
    }

    private nint FindMapOrThrow(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var m = FindMap(name);
        if (m == 0)
        {
            throw new KeyNotFoundException($"Object '{Name}' has no map '{name}'; its maps: {string.Join(", ", Maps.Select(x => x.SectionName is { } s && s != x.Name ? $"{x.Name} ({s})" : x.Name))}.");
        }

        return m;
    }

    private BpfObjectVariable FindVariable(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var all = Variables;
        var matches = all.Where(v => v.Name == name).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new KeyNotFoundException(all.Count == 0
                ? $"Object '{Name}' has no global variable '{name}': it has no data sections with BTF (build with clang -g)."
                : $"Object '{Name}' has no global variable '{name}'; its globals: {string.Join(", ", all.Select(v => $"{v.Name} ({v.SectionName})"))}."),
            _ => throw new ArgumentException($"Global '{name}' is ambiguous in object '{Name}': it is defined in {string.Join(", ", matches.Select(v => v.SectionName))}.", nameof(name)),
        };
    }

    private static BpfObjectProgram DescribeProgram(nint p)
    {
        var type = (BpfProgramType)NativeApi.Libbpf.ProgramType(p);
        var attach = NativeApi.Libbpf.ProgramExpectedAttachType(p);
        return new(
            Libbpf.ReadString(NativeApi.Libbpf.ProgramName(p)) ?? string.Empty,
            Libbpf.ReadString(NativeApi.Libbpf.ProgramSectionName(p)) ?? string.Empty,
            type,
            // 0 is both "none" and BPF_CGROUP_INET_INGRESS, which only cgroup skb programs can mean.
            attach == 0 && type != BpfProgramType.CgroupSkb ? null : (BpfAttachType)attach,
            (int)NativeApi.Libbpf.ProgramInsnCount(p),
            NativeApi.Libbpf.ProgramAutoload(p));
    }

    private BpfObjectMap DescribeMap(nint m)
    {
        var reused = _reusedNames.TryGetValue(m, out var name);
        name ??= Libbpf.ReadString(NativeApi.Libbpf.MapName(m)) ?? string.Empty;
        var spec = new BpfMapSpec(name, (BpfMapType)NativeApi.Libbpf.MapType(m), NativeApi.Libbpf.MapKeySize(m), NativeApi.Libbpf.MapValueSize(m), NativeApi.Libbpf.MapMaxEntries(m), (BpfMapFlags)NativeApi.Libbpf.MapFlags(m))
        {
            MapExtra = NativeApi.Libbpf.MapExtra(m),
        };
        string? section = null;
        if (NativeApi.Libbpf.MapIsInternal(m))
        {
            // The section name is the name of the map's DATASEC value type; libbpf only reports a shortened name.
            var btf = NativeApi.Libbpf.ObjectBtf(_object.DangerousGetHandle());
            var typeId = NativeApi.Libbpf.MapBtfValueTypeId(m);
            var t = btf == 0 || typeId == 0 ? null : NativeApi.Libbpf.BtfTypeById(btf, typeId);
            section = t is null ? name : Libbpf.ReadString(NativeApi.Libbpf.BtfNameByOffset(btf, t->name_off)) ?? name;
        }

        return new BpfObjectMap(name, spec, section, reused);
    }
}

/// <summary>Owns a <c>struct bpf_object *</c>; closing it releases every descriptor libbpf holds for the object.</summary>
internal sealed class LibbpfObjectHandle : SafeHandle
{
    internal LibbpfObjectHandle(nint obj) : base(0, ownsHandle: true) => SetHandle(obj);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        NativeApi.Libbpf.ObjectClose(handle);
        return true;
    }
}
