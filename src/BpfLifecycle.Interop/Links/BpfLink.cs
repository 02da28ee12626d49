// A kernel link as a first-class object: pin it, reopen it, swap its program atomically, detach it.
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>
/// A BPF link: the kernel object that keeps a program attached to a hook. Closing the last descriptor of an unpinned
/// link detaches the program; a pinned link stays attached until its pin is removed. <see cref="Update"/> replaces the
/// program atomically (no packet or event sees neither program), optionally as a compare-and-swap.
/// </summary>
public sealed class BpfLink : IDisposable
{
    private readonly PerfEventHandle? _perfEvent;

    internal BpfLink(BpfLinkHandle handle, string target, PerfEventHandle? perfEvent = null)
    {
        Handle = handle;
        _perfEvent = perfEvent;
        try
        {
            var info = Bpf.GetLinkInfo(handle);
            Id = info.Id;
            Type = info.Type;
        }
        catch
        {
            handle.Dispose();
            perfEvent?.Dispose();
            throw;
        }

        Target = target;
    }

    /// <summary>The link descriptor.</summary>
    public BpfLinkHandle Handle { get; }

    /// <summary>Kernel link id (stable for the link's lifetime, also after it is pinned and reopened).</summary>
    public uint Id { get; }

    /// <summary>Link type.</summary>
    public BpfLinkType Type { get; }

    /// <summary>A description of where the link attaches, used in errors (e.g. <c>XDP on veth0 (ifindex 5)</c>).</summary>
    public string Target { get; }

    /// <summary>The path this object pinned the link at, or null.</summary>
    public string? PinnedPath { get; private set; }

    /// <summary>Id of the program attached now (read from the kernel).</summary>
    public uint ProgramId => Info.ProgramId;

    /// <summary>What the kernel reports of the link now.</summary>
    public BpfLinkInfo Info => Bpf.GetLinkInfo(Handle);

    /// <summary>Pins the link in bpffs: it then stays attached after every descriptor is closed, until the pin is removed.</summary>
    public void Pin(string path)
    {
        Bpf.Pin(Handle, path);
        PinnedPath = path;
    }

    /// <summary>Removes the pin created by <see cref="Pin"/> (or the pin at <paramref name="path"/>); an unpinned link detaches when its last descriptor closes.</summary>
    public void Unpin(string? path = null)
    {
        path ??= PinnedPath ?? throw new InvalidOperationException($"Link {Id} ({Target}) was not pinned by this object; pass the pin path.");
        File.Delete(path);
        if (path == PinnedPath)
        {
            PinnedPath = null;
        }
    }

    /// <summary>Opens the link pinned at <paramref name="path"/>.</summary>
    public static BpfLink FromPin(string path)
    {
        var handle = Bpf.GetPinnedLink(path);
        return FromHandle(handle, $"pinned at '{path}'");
    }

    /// <summary>Opens the link with kernel id <paramref name="id"/> (needs CAP_SYS_ADMIN).</summary>
    public static BpfLink FromId(uint id)
    {
        BpfLinkHandle handle;
        try
        {
            handle = Bpf.LinkFromId(id);
        }
        catch (BpfException e) when (e.Errno == Errno.ENOENT)
        {
            throw new BpfException(BpfCommand.LinkGetFdById, e.Errno, $"no link with id {id} exists", e);
        }

        return FromHandle(handle, $"link id {id}");
    }

    /// <summary>Wraps a link descriptor (takes ownership).</summary>
    public static BpfLink FromHandle(BpfLinkHandle handle, string? target = null)
    {
        ArgumentNullException.ThrowIfNull(handle);
        BpfLinkInfo info;
        try
        {
            info = Bpf.GetLinkInfo(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return new BpfLink(handle, Describe(info, target));
    }

    /// <summary>
    /// BPF_LINK_UPDATE: atomically attaches <paramref name="newProgram"/> in place of the current program. With
    /// <paramref name="expectedOld"/> the swap only happens if that program is still the attached one (BPF_F_REPLACE);
    /// otherwise <see cref="BpfLinkProgramMismatchException"/> is thrown and nothing changes.
    /// </summary>
    /// <exception cref="BpfLinkDetachedException">The link was detached.</exception>
    /// <exception cref="BpfLinkProgramMismatchException">Compare-and-swap with the wrong old program.</exception>
    public void Update(BpfProgramHandle newProgram, BpfProgramHandle? expectedOld = null)
    {
        ArgumentNullException.ThrowIfNull(newProgram);
        if (Bpf.TryLinkUpdate(Handle, newProgram, expectedOld, out var errno) >= 0)
        {
            return;
        }

        switch (errno)
        {
            case Errno.ENOLINK:
                throw new BpfLinkDetachedException(BpfCommand.LinkUpdate, Id, Target);
            case Errno.EPERM when expectedOld is not null:
                throw new BpfLinkProgramMismatchException(Id, Bpf.GetProgramInfo(expectedOld).Id, Info.ProgramId);
            case Errno.EINVAL or Errno.EOPNOTSUPP when Type is BpfLinkType.PerfEvent or BpfLinkType.RawTracepoint or BpfLinkType.Tracing or BpfLinkType.KprobeMulti or BpfLinkType.UprobeMulti:
                // These link types have no update operation; the kernel answers EINVAL.
                throw new BpfException(BpfCommand.LinkUpdate, errno, $"link {Id} ({Target}): {Type} links cannot change their program; create a new link");
            case Errno.EINVAL:
                throw new BpfException(BpfCommand.LinkUpdate, errno, $"link {Id} ({Target}): the new program's type or expected attach type does not match the link");
            case Errno.EOPNOTSUPP:
                throw new BpfException(BpfCommand.LinkUpdate, errno, $"link {Id} ({Target}): {Type} links cannot change their program; create a new link");
            default:
                throw new BpfException(BpfCommand.LinkUpdate, errno, $"link {Id} ({Target})");
        }
    }

    /// <summary>
    /// BPF_LINK_DETACH: detaches the program now, even if the link is pinned or other descriptors are open. The link object
    /// stays valid but defunct: updates then fail with <see cref="BpfLinkDetachedException"/>.
    /// </summary>
    public void Detach()
    {
        if (Bpf.TryLinkDetach(Handle, out var errno) >= 0)
        {
            return;
        }

        throw errno switch
        {
            Errno.ENOLINK => new BpfLinkDetachedException(BpfCommand.LinkDetach, Id, Target),
            Errno.EOPNOTSUPP or Errno.EINVAL => new BpfException(BpfCommand.LinkDetach, errno, $"link {Id} ({Target}): {Type} links cannot be detached explicitly; close every descriptor and pin instead"),
            _ => new BpfException(BpfCommand.LinkDetach, errno, $"link {Id} ({Target})"),
        };
    }

    /// <summary>Closes this object's descriptors. An unpinned link with no other descriptor open is detached by the kernel.</summary>
    public void Dispose()
    {
        Handle.Dispose();
        _perfEvent?.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"link {Id} ({Type}, {Target})";

    internal static string Describe(BpfLinkInfo info, string? fallback)
    {
        var what = info.Type switch
        {
            BpfLinkType.Xdp => $"XDP on {NetworkInterfaces.Describe(info.IfIndex ?? 0)}",
            BpfLinkType.Tcx => $"TCX {(info.AttachType == BpfAttachType.TcxEgress ? "egress" : "ingress")} on {NetworkInterfaces.Describe(info.IfIndex ?? 0)}",
            BpfLinkType.Cgroup => $"{info.AttachType} on cgroup {info.CgroupId}",
            BpfLinkType.RawTracepoint => $"raw tracepoint {info.TracepointName}",
            BpfLinkType.PerfEvent => $"perf event ({info.PerfEventType})",
            _ => info.Type.ToString(),
        };
        return fallback is null ? what : $"{what}, {fallback}";
    }
}
