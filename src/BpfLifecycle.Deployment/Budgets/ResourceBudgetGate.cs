// The deployment gate for resource budgets (order 200): map memory per version and per application, and
// program counts, checked before load; retired maps are released first when the application is over budget.
using System.Globalization;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.RuntimeConfig;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Budgets;

/// <summary>What a deployment would need, and what the application holds.</summary>
/// <param name="NewMapBytes">Estimated memory of the maps the version creates (reused maps excluded).</param>
/// <param name="PerMap">Estimate per map name (reused maps have 0).</param>
/// <param name="ReusedMaps">Maps the version reuses from the application (state maps, runtime config).</param>
public sealed record DeploymentFootprint(long NewMapBytes, IReadOnlyDictionary<string, long> PerMap, IReadOnlyList<string> ReusedMaps);

/// <summary>
/// Refuses a deployment before load when its maps exceed the per-program budget, when the application's maps would
/// exceed the per-application budget even after releasing unreferenced pinned maps (least recently used first,
/// each release audited, maps in use never), or when the program count limits would be passed.
/// </summary>
public sealed class ResourceBudgetGate : IDeploymentGate
{
    /// <summary>The gate's name.</summary>
    public const string GateName = "budget";

    private readonly ResourceBudgetOptions _options;
    private readonly PinnedResourceInventory _inventory;
    private readonly Func<int?> _systemPrograms;

    /// <summary>Creates the gate.</summary>
    /// <param name="options">Budgets.</param>
    /// <param name="inventory">The application's pinned resources.</param>
    /// <param name="systemProgramCount">Source of the system-wide program count (null when unknown); defaults to enumerating the kernel's programs.</param>
    public ResourceBudgetGate(ResourceBudgetOptions options, PinnedResourceInventory inventory, Func<int?>? systemProgramCount = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(inventory);
        var problems = options.Validate().ToArray();
        if (problems.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _options = options;
        _inventory = inventory;
        _systemPrograms = systemProgramCount ?? PinnedResourceInventory.CountSystemPrograms;
    }

    /// <inheritdoc />
    public string Name => GateName;

    /// <inheritdoc />
    public int Order => 200;

    /// <summary>Estimates what <paramref name="context"/>'s version needs, given what the application already holds.</summary>
    public static DeploymentFootprint Footprint(GateContext context, ApplicationResources resources)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(resources);
        var pinnedNames = resources.Maps.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var reusable = context.Artifact.Manifest.StateMaps.Append(RuntimeConfigMap.MapName).ToHashSet(StringComparer.Ordinal);
        var perMap = new Dictionary<string, long>(StringComparer.Ordinal);
        var reused = new List<string>();
        foreach (var spec in context.MapSpecs)
        {
            if (reusable.Contains(spec.Name) && pinnedNames.Contains(Bpf.SanitizeName(spec.Name)))
            {
                reused.Add(spec.Name);
                perMap[spec.Name] = 0;
                continue;
            }

            perMap[spec.Name] = MapMemoryEstimator.Estimate(spec);
        }

        return new DeploymentFootprint(perMap.Values.Sum(), perMap, reused);
    }

    /// <inheritdoc />
    public ValueTask<GateResult> CheckAsync(GateContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Check(context));
    }

    private GateResult Check(GateContext context)
    {
        var manifest = context.Artifact.Manifest;
        var what = $"{manifest.Name} {manifest.Version}";
        var resources = _inventory.Scan();
        var footprint = Footprint(context, resources);
        var perProgram = Math.Min(_options.PerProgramBytes, manifest.Limits?.MaxMapMemoryBytes ?? long.MaxValue);
        if (footprint.NewMapBytes > perProgram)
        {
            var largest = string.Join(", ", footprint.PerMap.OrderByDescending(kv => kv.Value).Take(3).Select(kv => $"{kv.Key} {Mib(kv.Value)}"));
            return GateResult.Deny($"{what} needs {Mib(footprint.NewMapBytes)} of map memory, over its budget of {Mib(perProgram)} (largest maps: {largest})");
        }

        var owned = resources.Programs.Count;
        var adding = manifest.Programs.Count;
        if (owned + adding > _options.MaxPrograms)
        {
            return GateResult.Deny($"{what} adds {adding} program(s) to the {owned} the application owns, over the limit of {_options.MaxPrograms}");
        }

        if (_options.MaxSystemPrograms is { } systemLimit && _systemPrograms() is { } system && system + adding > systemLimit)
        {
            return GateResult.Deny($"{what} adds {adding} program(s) to the {system} loaded system-wide, over the limit of {systemLimit}");
        }

        var total = resources.TotalMapBytes + footprint.NewMapBytes;
        var released = 0L;
        var releasedCount = 0;
        if (total > _options.PerApplicationBytes && _options.EvictUnreferencedMaps && resources.EvictableMapBytes > 0)
        {
            var evicted = _inventory.EvictUnreferenced(total - _options.PerApplicationBytes, $"make room for {what} ({Mib(footprint.NewMapBytes)}) within the application budget of {Mib(_options.PerApplicationBytes)}");
            released = evicted.Sum(e => e.MemlockBytes);
            releasedCount = evicted.Count;
            resources = _inventory.Scan();
            total = resources.TotalMapBytes + footprint.NewMapBytes;
        }

        if (total > _options.PerApplicationBytes)
        {
            return GateResult.Deny($"{what} needs {Mib(footprint.NewMapBytes)}; the application holds {Mib(resources.TotalMapBytes)} in use (after releasing {releasedCount} unreferenced map(s), {Mib(released)}), so it would use {Mib(total)}, over its budget of {Mib(_options.PerApplicationBytes)}");
        }

        var eviction = releasedCount > 0 ? $" after releasing {releasedCount} unreferenced map(s) ({Mib(released)})" : string.Empty;
        return GateResult.Allow($"{what} needs {Mib(footprint.NewMapBytes)} of {Mib(perProgram)}; application at {Mib(total)} of {Mib(_options.PerApplicationBytes)}{eviction}; {owned + adding} of {_options.MaxPrograms} programs");
    }

    private static string Mib(long bytes) => bytes >= 1024 * 1024
        ? (bytes / (1024.0 * 1024)).ToString("0.##", CultureInfo.InvariantCulture) + " MiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";
}
