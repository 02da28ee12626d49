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
