// Whether an existing map (e.g. state kept from an earlier version) can be reused for a spec, with a readable diff.
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps;

/// <summary>One property in which an existing map differs from a spec.</summary>
/// <param name="Property">Spec property name (<c>KeySize</c>, <c>Type</c>, ...).</param>
/// <param name="Existing">The existing map's value.</param>
/// <param name="Expected">The spec's value.</param>
public sealed record MapDifference(string Property, string Existing, string Expected)
{
    /// <summary>Reads as <c>KeySize: 4 changed to 8</c> (existing value first, then the spec's).</summary>
    public override string ToString() => $"{Property}: {Existing} changed to {Expected}";
}

/// <summary>The outcome of comparing an existing map with a spec.</summary>
/// <param name="Differences">Every property that differs; empty when compatible.</param>
public sealed record MapCompatibilityResult(IReadOnlyList<MapDifference> Differences)
{
    /// <summary>True when the existing map can be reused for the spec.</summary>
    public bool IsCompatible => Differences.Count == 0;

    /// <summary>The differences joined by "; " (or "compatible").</summary>
    public override string ToString() => IsCompatible ? "compatible" : string.Join("; ", Differences);
}

/// <summary>The map could not be reused because it differs from the spec.</summary>
public sealed class MapIncompatibleException : InvalidOperationException
{
    /// <summary>Creates the exception for a map name and its differences.</summary>
    public MapIncompatibleException(string mapName, MapCompatibilityResult result)
        : base($"Map '{mapName}' is not compatible with its spec: {result}")
    {
        MapName = mapName;
        Result = result;
    }

    /// <summary>The map's name.</summary>
    public string MapName { get; }

    /// <summary>The differences.</summary>
    public MapCompatibilityResult Result { get; }
}

/// <summary>Compares existing maps with specs.</summary>
public static class MapCompatibility
{
    // Open-time access flags and NUMA placement say nothing about the map's shape or contents.
    private const BpfMapFlags IgnoredFlags = BpfMapFlags.ReadOnly | BpfMapFlags.WriteOnly | BpfMapFlags.NumaNode;

    /// <summary>Compares a spec with what the kernel reports of an existing map. Names are not compared (the kernel truncates them).</summary>
    public static MapCompatibilityResult Check(BpfMapSpec spec, BpfMapInfo existing)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(existing);
        var diffs = BpfMapSpec.Differences(existing.ToSpec(), spec, IgnoredFlags)
            .Select(d => new MapDifference(d.Property, d.From, d.To))
            .ToList();
        return new MapCompatibilityResult(diffs);
    }

    /// <summary>Compares a spec with an open map.</summary>
    public static MapCompatibilityResult Check(BpfMapSpec spec, BpfMap existing)
    {
        ArgumentNullException.ThrowIfNull(existing);
        return Check(spec, existing.Info);
    }

    /// <summary>Throws <see cref="MapIncompatibleException"/> naming every difference unless the map fits the spec.</summary>
    public static void EnsureCompatible(BpfMapSpec spec, BpfMapInfo existing)
    {
        var result = Check(spec, existing);
        if (!result.IsCompatible)
        {
            throw new MapIncompatibleException(spec.Name, result);
        }
    }
}
