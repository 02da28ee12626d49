// Walks every program, map and link loaded in the kernel (what `bpftool prog/map/link show` lists),
// by id, opening each object only long enough to read its info.
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>A loaded program as enumeration reports it: the kernel's info and its memory charge.</summary>
/// <param name="Info">What the kernel reports of the program.</param>
/// <param name="MemlockBytes">The kernel's memory figure for the program (<c>memlock:</c> in fdinfo), or null if absent.</param>
public sealed record BpfProgramSummary(BpfProgramInfo Info, long? MemlockBytes);

/// <summary>A map as enumeration reports it: the kernel's info and its memory charge.</summary>
/// <param name="Info">What the kernel reports of the map.</param>
/// <param name="MemlockBytes">The kernel's memory figure for the map (<c>memlock:</c> in fdinfo), or null if absent.</param>
public sealed record BpfMapSummary(BpfMapInfo Info, long? MemlockBytes);

/// <summary>A link as enumeration reports it.</summary>
/// <param name="Id">Kernel link id.</param>
/// <param name="Type">Link type.</param>
/// <param name="ProgramId">Id of the program the link runs.</param>
public sealed record BpfLinkSummary(uint Id, BpfLinkType Type, uint ProgramId);

/// <summary>
/// Enumerates the BPF objects of the whole system through <c>*_GET_NEXT_ID</c> and <c>*_GET_FD_BY_ID</c>. Needs
/// CAP_SYS_ADMIN. Each object is opened, read and closed before it is yielded, so enumeration holds no descriptor
/// between items. Objects that disappear between reading their id and opening them are skipped.
/// </summary>
public static unsafe class BpfObjects
{
    /// <summary>Ids of all loaded programs, in increasing order.</summary>
    public static IEnumerable<uint> EnumerateProgramIds() => EnumerateIds(BpfCommand.ProgGetNextId, "programs");

    /// <summary>Ids of all maps, in increasing order.</summary>
    public static IEnumerable<uint> EnumerateMapIds() => EnumerateIds(BpfCommand.MapGetNextId, "maps");

    /// <summary>Ids of all links, in increasing order.</summary>
    public static IEnumerable<uint> EnumerateLinkIds() => EnumerateIds(BpfCommand.LinkGetNextId, "links");

    /// <summary>Every loaded program with its info and memory figure.</summary>
    public static IEnumerable<BpfProgramSummary> EnumeratePrograms() => EnumeratePrograms(EnumerateProgramIds());

    /// <summary>The programs with the given ids that still exist.</summary>
    internal static IEnumerable<BpfProgramSummary> EnumeratePrograms(IEnumerable<uint> ids)
    {
        foreach (var id in ids)
        {
            if (TryOpen(BpfCommand.ProgGetFdById, id) is not { } fd)
            {
                continue;
            }

            using var handle = new BpfProgramHandle(fd);
            yield return new BpfProgramSummary(Bpf.GetProgramInfo(handle), Bpf.GetMemlock(handle));
        }
    }

    /// <summary>Every map with its info and memory figure.</summary>
    public static IEnumerable<BpfMapSummary> EnumerateMaps() => EnumerateMaps(EnumerateMapIds());

    /// <summary>The maps with the given ids that still exist.</summary>
    internal static IEnumerable<BpfMapSummary> EnumerateMaps(IEnumerable<uint> ids)
    {
        foreach (var id in ids)
        {
            if (TryOpen(BpfCommand.MapGetFdById, id) is not { } fd)
            {
                continue;
            }

            using var handle = new BpfMapHandle(fd);
            yield return new BpfMapSummary(Bpf.GetMapInfo(handle), Bpf.GetMemlock(handle));
        }
    }

    /// <summary>Every link with its type and program.</summary>
    public static IEnumerable<BpfLinkSummary> EnumerateLinks() => EnumerateLinks(EnumerateLinkIds());

    /// <summary>The links with the given ids that still exist.</summary>
    internal static IEnumerable<BpfLinkSummary> EnumerateLinks(IEnumerable<uint> ids)
    {
        foreach (var id in ids)
        {
            if (TryOpen(BpfCommand.LinkGetFdById, id) is not { } fd)
            {
                continue;
            }

            using var handle = new BpfLinkHandle(fd);
            yield return ReadLinkSummary(handle);
        }
    }

    /// <summary>The id, type and program of an open link.</summary>
    public static BpfLinkSummary ReadLinkSummary(BpfLinkHandle link)
    {
        ArgumentNullException.ThrowIfNull(link);
        bpf_link_info info = default;
        Bpf.ObjInfo(link, &info, (uint)sizeof(bpf_link_info));
        return new BpfLinkSummary(info.id, (BpfLinkType)info.type, info.prog_id);
    }

    private static IEnumerable<uint> EnumerateIds(BpfCommand command, string what)
    {
        uint id = 0;
        while (NextId(command, id, what) is { } next)
        {
            yield return next;
            id = next;
        }
    }

    private static uint? NextId(BpfCommand command, uint start, string what)
    {
        bpf_get_id_attr attr = default;
        attr.start_id = start;
        if (BpfSyscall.Invoke(command, &attr, out var errno) >= 0)
        {
            return attr.next_id;
        }

        if (errno == Errno.ENOENT)
        {
            return null;
        }

        ThrowHelper.ThrowBpf(command, errno, errno == Errno.EPERM
            ? $"enumerating {what} needs CAP_SYS_ADMIN"
            : $"enumerating {what} after id {start}");
        return null;
    }

    /// <summary>Opens an object by id; null when it vanished since its id was read (ENOENT).</summary>
    private static int? TryOpen(BpfCommand command, uint id)
    {
        bpf_get_id_attr attr = default;
        attr.start_id = id;
        for (var attempt = 0; ; attempt++)
        {
            var r = BpfSyscall.Invoke(command, &attr, out var errno);
            if (r >= 0)
            {
                return (int)r;
            }

            if (errno == Errno.ENOENT)
            {
                return null;
            }

            if ((errno == Errno.EAGAIN || errno == Errno.EINTR) && attempt < 5)
            {
                continue;
            }

            ThrowHelper.ThrowBpf(command, errno, errno == Errno.EPERM
                ? $"opening object id {id} needs CAP_SYS_ADMIN"
                : $"id {id}");
        }
    }
}
