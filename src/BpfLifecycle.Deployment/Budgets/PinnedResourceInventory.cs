// What an application holds in the kernel: the maps and programs pinned under its bpffs directory,
// their memory, and which maps a loaded program still references.
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Audit;

namespace BpfLifecycle.Deployment.Budgets;

/// <summary>A pinned map of the application.</summary>
/// <param name="PinPath">Where it is pinned.</param>
/// <param name="MapId">Kernel map id.</param>
/// <param name="Name">Kernel map name.</param>
/// <param name="MemlockBytes">Kernel memory figure.</param>
/// <param name="InUse">True when a loaded program references it.</param>
/// <param name="LastUsed">When it was last seen in use (or pinned, if never seen in use).</param>
public sealed record PinnedMapUsage(string PinPath, uint MapId, string Name, long MemlockBytes, bool InUse, DateTimeOffset LastUsed);

/// <summary>A pinned program of the application.</summary>
/// <param name="PinPath">Where it is pinned.</param>
/// <param name="Info">What the kernel reports.</param>
public sealed record PinnedProgramUsage(string PinPath, BpfProgramInfo Info);

/// <summary>A snapshot of an application's kernel resources.</summary>
/// <param name="Maps">Pinned maps (one row per distinct map).</param>
/// <param name="Programs">Pinned programs (one row per distinct program).</param>
public sealed record ApplicationResources(IReadOnlyList<PinnedMapUsage> Maps, IReadOnlyList<PinnedProgramUsage> Programs)
{
    /// <summary>Memory of all pinned maps.</summary>
    public long TotalMapBytes => Maps.Sum(m => m.MemlockBytes);

    /// <summary>Memory of pinned maps no loaded program references.</summary>
    public long EvictableMapBytes => Maps.Where(m => !m.InUse).Sum(m => m.MemlockBytes);
}

/// <summary>
/// Scans an application's pin directory. A map counts as in use when any loaded program references it: every
/// program in the system when this process may enumerate them (CAP_SYS_ADMIN), otherwise the programs pinned
/// under the directory. Remembers when each map was last seen in use, for least-recently-used eviction.
/// </summary>
public sealed class PinnedResourceInventory
{
    private readonly TimeProvider _time;
    private readonly IAuditLog? _audit;
    private readonly Dictionary<uint, DateTimeOffset> _lastInUse = new();
    private readonly Lock _lock = new();

    /// <summary>Creates the inventory of <paramref name="pinDirectory"/>.</summary>
    public PinnedResourceInventory(string pinDirectory, TimeProvider? timeProvider = null, IAuditLog? audit = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pinDirectory);
        PinDirectory = pinDirectory;
        _time = timeProvider ?? TimeProvider.System;
        _audit = audit;
    }

    /// <summary>The application's pin directory.</summary>
    public string PinDirectory { get; }

    /// <summary>Reads what is pinned now.</summary>
    public ApplicationResources Scan()
    {
        var maps = new Dictionary<uint, (string Path, BpfMapInfo Info, long Memlock, DateTimeOffset Pinned)>();
        var programs = new Dictionary<uint, PinnedProgramUsage>();
        if (Directory.Exists(PinDirectory))
        {
            foreach (var path in Directory.EnumerateFiles(PinDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var m = TryOpen(() => Bpf.GetPinnedMap(path));
                if (m is not null)
                {
                    using (m)
                    {
                        var info = Bpf.GetMapInfo(m);
                        maps.TryAdd(info.Id, (path, info, Bpf.GetMemlock(m) ?? 0, new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero)));
                    }

                    continue;
                }

                using var p = TryOpen(() => Bpf.GetPinnedProgram(path));
                if (p is not null)
                {
                    var info = Bpf.GetProgramInfo(p);
                    programs.TryAdd(info.Id, new PinnedProgramUsage(path, info));
                }
            }
        }

        var referenced = new HashSet<uint>(programs.Values.SelectMany(p => p.Info.MapIds));
        foreach (var id in SystemReferencedMaps(maps.Keys))
        {
            referenced.Add(id);
        }

        var now = _time.GetUtcNow();
        var rows = new List<PinnedMapUsage>();
        lock (_lock)
        {
            foreach (var (id, m) in maps)
            {
                var inUse = referenced.Contains(id);
                if (inUse)
                {
                    _lastInUse[id] = now;
                }

                var last = _lastInUse.TryGetValue(id, out var t) ? t : m.Pinned;
                rows.Add(new PinnedMapUsage(m.Path, id, m.Info.Name, m.Memlock, inUse, last));
            }
        }

        return new ApplicationResources(rows.OrderBy(r => r.PinPath, StringComparer.Ordinal).ToArray(), programs.Values.OrderBy(p => p.PinPath, StringComparer.Ordinal).ToArray());
    }

    /// <summary>
    /// Releases (unpins) maps no loaded program references, least recently used first, until at least
    /// <paramref name="bytesNeeded"/> are freed or none are left. Each release is audited. Maps in use are never touched.
    /// </summary>
    /// <returns>The maps released.</returns>
    public IReadOnlyList<PinnedMapUsage> EvictUnreferenced(long bytesNeeded, string reason)
    {
        var released = new List<PinnedMapUsage>();
        long freed = 0;
        foreach (var m in Scan().Maps.Where(m => !m.InUse).OrderBy(m => m.LastUsed).ThenBy(m => m.PinPath, StringComparer.Ordinal))
        {
            if (freed >= bytesNeeded)
            {
                break;
            }

            // Check again right before unpinning: a version may have started using it since the scan.
            if (IsReferencedNow(m.MapId))
            {
                continue;
            }

            File.Delete(m.PinPath);
            freed += m.MemlockBytes;
            released.Add(m);
            lock (_lock)
            {
                _lastInUse.Remove(m.MapId);
            }

            _audit?.Append(new AuditEvent(AuditAction.Evict, AuditOutcome.Success)
            {
                Map = m.Name,
                Details = new Dictionary<string, string?>
                {
                    ["pin"] = m.PinPath,
                    ["mapId"] = m.MapId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["bytes"] = m.MemlockBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["lastUsed"] = m.LastUsed.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    ["reason"] = reason,
                },
            });
        }

        return released;
    }

    /// <summary>The number of programs loaded system-wide, or null when this process may not enumerate them.</summary>
    public static int? CountSystemPrograms()
    {
        if (!Capabilities.Required(BpfOperation.EnumerateObjects).IsSatisfiedBy(Capabilities.Current().Effective))
        {
            return null;
        }

        return BpfObjects.EnumerateProgramIds().Count();
    }

    private bool IsReferencedNow(uint mapId)
        => Scan().Programs.Any(p => p.Info.MapIds.Contains(mapId)) || SystemReferencedMaps([mapId]).Count > 0;

    private static HashSet<uint> SystemReferencedMaps(IEnumerable<uint> candidates)
    {
        var wanted = candidates.ToHashSet();
        if (wanted.Count == 0 || !Capabilities.Required(BpfOperation.EnumerateObjects).IsSatisfiedBy(Capabilities.Current().Effective))
        {
            return new HashSet<uint>();
        }

        var found = new HashSet<uint>();
        foreach (var summary in BpfObjects.EnumeratePrograms())
        {
            foreach (var id in summary.Info.MapIds)
            {
                if (wanted.Contains(id))
                {
                    found.Add(id);
                }
            }
        }

        return found;
    }

    private static T? TryOpen<T>(Func<T> open) where T : class
    {
        try
        {
            return open();
        }
        catch (Exception e) when (e is BpfException or InvalidOperationException)
        {
            return null;
        }
    }
}
