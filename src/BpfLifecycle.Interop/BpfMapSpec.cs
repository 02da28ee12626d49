// What a map is meant to be (the same on every machine), as opposed to a created map.
namespace BpfLifecycle.Interop;

/// <summary>The description of a BPF map: type, key and value sizes, capacity and flags.</summary>
/// <param name="Name">Object name (up to 15 bytes are kept by the kernel).</param>
/// <param name="Type">Map type.</param>
/// <param name="KeySize">Key size in bytes.</param>
/// <param name="ValueSize">Value size in bytes (per CPU for per-CPU maps).</param>
/// <param name="MaxEntries">Capacity; bytes for ring buffers.</param>
/// <param name="Flags">Creation flags.</param>
public sealed record BpfMapSpec(string Name, BpfMapType Type, uint KeySize, uint ValueSize, uint MaxEntries, BpfMapFlags Flags = BpfMapFlags.None)
{
    /// <summary>Type-specific extra value (<c>map_extra</c>), e.g. bloom filter hash count.</summary>
    public ulong MapExtra { get; init; }

    /// <summary>The inner map's descriptor for map-in-map types.</summary>
    public BpfMapHandle? InnerMap { get; init; }

    /// <summary>
    /// The properties in which <paramref name="to"/> differs from <paramref name="from"/> (type, key and value size,
    /// capacity, flags outside <paramref name="ignoredFlags"/>, <c>map_extra</c>), in that order; names are not compared.
    /// </summary>
    public static IReadOnlyList<BpfMapSpecDifference> Differences(BpfMapSpec from, BpfMapSpec to, BpfMapFlags ignoredFlags = BpfMapFlags.None)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var diffs = new List<BpfMapSpecDifference>();
        Add(diffs, nameof(Type), from.Type, to.Type);
        Add(diffs, nameof(KeySize), from.KeySize, to.KeySize);
        Add(diffs, nameof(ValueSize), from.ValueSize, to.ValueSize);
        Add(diffs, nameof(MaxEntries), from.MaxEntries, to.MaxEntries);
        Add(diffs, nameof(Flags), from.Flags & ~ignoredFlags, to.Flags & ~ignoredFlags);
        Add(diffs, nameof(MapExtra), from.MapExtra, to.MapExtra);
        return diffs;
    }

    private static void Add<T>(List<BpfMapSpecDifference> diffs, string property, T from, T to)
        where T : notnull
    {
        if (!EqualityComparer<T>.Default.Equals(from, to))
        {
            diffs.Add(new BpfMapSpecDifference(property, from.ToString()!, to.ToString()!));
        }
    }
}

/// <summary>One property in which two map specs differ.</summary>
/// <param name="Property">Spec property name (<c>KeySize</c>, <c>Type</c>, ...).</param>
/// <param name="From">The first spec's value.</param>
/// <param name="To">The second spec's value.</param>
public sealed record BpfMapSpecDifference(string Property, string From, string To)
{
    /// <summary>Reads as <c>KeySize: 4 changed to 8</c>.</summary>
    public override string ToString() => $"{Property}: {From} changed to {To}";
}

/// <summary>What the kernel reports of a loaded map.</summary>
public sealed record BpfMapInfo(uint Id, string Name, BpfMapType Type, uint KeySize, uint ValueSize, uint MaxEntries, BpfMapFlags Flags)
{
    /// <summary>BTF object id, or 0.</summary>
    public uint BtfId { get; init; }

    /// <summary><c>map_extra</c>.</summary>
    public ulong MapExtra { get; init; }

    /// <summary>The spec this map satisfies (name as the kernel kept it).</summary>
    public BpfMapSpec ToSpec() => new(Name, Type, KeySize, ValueSize, MaxEntries, Flags) { MapExtra = MapExtra };
}
