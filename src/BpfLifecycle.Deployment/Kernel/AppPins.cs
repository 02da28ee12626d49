// The bpffs layout of one application and the kernel operations on it. Everything the manager does to
// the kernel goes through here, and every operation is idempotent so recovery can repeat it safely.
//   <root>/<app>/links/<hook>            pinned links, one per hook
//   <root>/<app>/dispatcher/{prog,control,slots,counters}
//   <root>/<app>/versions/<id>/prog      a version's entry program
//   <root>/<app>/versions/<id>/maps/<m>  its maps (state maps are shared between versions)
//   <root>/<app>/registry                HASH mirror of the registry for BPF-side tools
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Dispatch;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Kernel;

internal sealed class AppPins
{
    /// <summary>Keys of the registry mirror map (u32 key, u64 value).</summary>
    public enum MirrorKey : uint
    {
        ActiveVersion = 0,
        CandidateVersion = 1,
        CanaryBasisPoints = 2,
        ActiveProgramId = 3,
    }

    public AppPins(string root) => Root = root;

    public string Root { get; }

    public string LinksDir => Path.Combine(Root, "links");

    public string DispatcherDir => Path.Combine(Root, "dispatcher");

    public string VersionsDir => Path.Combine(Root, "versions");

    public string MirrorPath => Path.Combine(Root, "registry");

    public string VersionDir(long id) => Path.Combine(VersionsDir, id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public string VersionProgram(long id) => Path.Combine(VersionDir(id), "prog");

    // bpffs refuses names with dots, which libbpf's internal maps (.rodata, .bss) have.
    public string VersionMap(long id, string name) => Path.Combine(VersionDir(id), "maps", name.Replace('.', '_'));

    public static string HookName(AttachPoint ap) => ap.ToString().Replace(':', '-').Replace('/', '_');

    public string LinkPath(AttachPoint ap) => Path.Combine(LinksDir, HookName(ap));

    public bool HasDispatcher => Dispatcher.IsPinned(DispatcherDir);

    /// <summary>Hooks whose links cannot change their program (perf-event links): versions must be switched behind a dispatcher.</summary>
    public static bool NeedsDispatcher(AttachPoint ap) => ap.Kind is AttachKind.Tracepoint;

    public bool IsVersionPinned(long id) => File.Exists(VersionProgram(id));

    public IEnumerable<string> LinkPins() => Directory.Exists(LinksDir) ? Directory.EnumerateFiles(LinksDir) : [];

    public IEnumerable<long> PinnedVersionIds() => Directory.Exists(VersionsDir)
        ? Directory.EnumerateDirectories(VersionsDir).Select(d => long.TryParse(Path.GetFileName(d), out var v) ? v : -1).Where(v => v > 0)
        : [];

    public void PinVersion(long id, LoadedObject loaded)
    {
        Directory.CreateDirectory(Path.Combine(VersionDir(id), "maps"));
        foreach (var (name, map) in loaded.Maps)
        {
            var path = VersionMap(id, name);
            if (!File.Exists(path))
            {
                Bpf.Pin(map, path);
            }
        }

        // The program pin goes last: its presence marks a complete version directory.
        if (!File.Exists(VersionProgram(id)))
        {
            Bpf.Pin(loaded.Program, VersionProgram(id));
        }
    }

    public void UnpinVersion(long id)
    {
        var dir = VersionDir(id);
        if (Directory.Exists(dir))
        {
            File.Delete(VersionProgram(id));
            Directory.Delete(dir, recursive: true);
        }
    }

    public BpfProgramHandle OpenVersionProgram(long id) => Bpf.GetPinnedProgram(VersionProgram(id));

    public BpfMapHandle? TryOpenVersionMap(long id, string name) => File.Exists(VersionMap(id, name)) ? Bpf.GetPinnedMap(VersionMap(id, name)) : null;

    public static uint ProgramId(BpfProgramHandle program) => Bpf.GetProgramInfo(program).Id;

    /// <summary>Attaches <paramref name="program"/> to the hook and pins the link (no-op when already pinned).</summary>
    public void Attach(AttachPoint ap, BpfProgramHandle program)
    {
        var path = LinkPath(ap);
        if (File.Exists(path))
        {
            return;
        }

        Directory.CreateDirectory(LinksDir);
        using var link = ap.Kind switch
        {
            AttachKind.Xdp => BpfAttach.Xdp(program, ap.Target, XdpAttachMode.Auto),
            AttachKind.XdpGeneric => BpfAttach.Xdp(program, ap.Target, XdpAttachMode.Generic),
            AttachKind.TcxIngress => BpfAttach.Tcx(program, NetworkInterfaces.IndexOf(ap.Target), TcxDirection.Ingress),
            AttachKind.TcxEgress => BpfAttach.Tcx(program, NetworkInterfaces.IndexOf(ap.Target), TcxDirection.Egress),
            AttachKind.Tracepoint => BpfAttach.Tracepoint(program, ap.Target.Split('/')[0], ap.Target.Split('/')[1]),
            _ => throw new NotSupportedException($"The deployment manager attaches xdp, xdp-generic, tcx-ingress, tcx-egress and tracepoint hooks; '{ap}' is not supported yet."),
        };
        link.Pin(path);
    }

    /// <summary>Program id the hook's link runs, or null when the link is not pinned (0 when detached).</summary>
    public static uint? LinkProgramId(string linkPin)
    {
        if (!File.Exists(linkPin))
        {
            return null;
        }

        using var link = BpfLink.FromPin(linkPin);
        return link.ProgramId;
    }

    public static uint LinkId(string linkPin)
    {
        using var link = BpfLink.FromPin(linkPin);
        return link.Id;
    }

    /// <summary>Makes the link run <paramref name="program"/>; compare-and-swap against <paramref name="expectedOld"/> when given.</summary>
    public static void UpdateLink(string linkPin, BpfProgramHandle program, BpfProgramHandle? expectedOld)
    {
        using var link = BpfLink.FromPin(linkPin);
        if (link.ProgramId == ProgramId(program))
        {
            return;
        }

        link.Update(program, expectedOld);
    }

    public void DetachAndUnpinLinks()
    {
        foreach (var pin in LinkPins().ToList())
        {
            using (var link = BpfLink.FromPin(pin))
            {
                try
                {
                    link.Detach();
                }
                catch (BpfLinkDetachedException)
                {
                    // Already detached (e.g. the interface went away).
                }
                catch (BpfException e) when (e.Errno is Errno.EOPNOTSUPP or Errno.EINVAL)
                {
                    // Perf-event links cannot be detached explicitly: removing the last pin releases them.
                }
            }

            DeleteFile(pin);
        }

        DeleteIfEmpty(LinksDir);
    }

    public void WriteMirror(MirrorKey key, ulong value)
    {
        if (!File.Exists(MirrorPath))
        {
            Directory.CreateDirectory(Root);
            using var created = Bpf.MapCreate(new BpfMapSpec("bpflc_registry", BpfMapType.Hash, 4, 8, 16));
            Bpf.Pin(created, MirrorPath);
        }

        using var map = Bpf.GetPinnedMap(MirrorPath);
        Span<byte> k = stackalloc byte[4];
        Span<byte> v = stackalloc byte[8];
        BitConverter.TryWriteBytes(k, (uint)key);
        BitConverter.TryWriteBytes(v, value);
        Bpf.MapUpdate(map, k, v);
    }

    public void RemoveAll()
    {
        DetachAndUnpinLinks();
        Dispatcher.Unpin(DispatcherDir);
        foreach (var id in PinnedVersionIds().ToList())
        {
            UnpinVersion(id);
        }

        DeleteIfEmpty(VersionsDir);
        DeleteFile(MirrorPath);
        DeleteIfEmpty(Root);
    }

    public static void DeleteFile(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    public static void DeleteIfEmpty(string dir)
    {
        if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
        }
    }
}
