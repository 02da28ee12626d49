// The result of loading an ELF object: the kernel's programs and maps, each as a descriptor the SDK owns.
using System.Collections.ObjectModel;

namespace BpfLifecycle.Interop;

/// <summary>
/// The programs and maps of a loaded ELF object. Each handle owns a duplicate of libbpf's descriptor, so it does
/// not depend on the libbpf object; disposing this object closes the handles and the libbpf object. Pin what
/// must outlive it.
/// </summary>
public sealed class LoadedBpfObject : IDisposable
{
    private readonly LibbpfObjectHandle _object;
    private readonly Dictionary<string, BpfProgramHandle> _programs;
    private readonly Dictionary<string, BpfMapHandle> _maps;
    private readonly Dictionary<string, string> _sectionAliases;
    private bool _disposed;

    internal LoadedBpfObject(string name, LibbpfObjectHandle obj, Dictionary<string, BpfProgramHandle> programs, Dictionary<string, BpfMapHandle> maps, Dictionary<string, string> sectionAliases, IReadOnlyList<LibbpfMessage> log)
    {
        Name = name;
        _object = obj;
        _programs = programs;
        _maps = maps;
        _sectionAliases = sectionAliases;
        Programs = new ReadOnlyDictionary<string, BpfProgramHandle>(programs);
        Maps = new ReadOnlyDictionary<string, BpfMapHandle>(maps);
        LibbpfLog = log;
    }

    /// <summary>The object's name.</summary>
    public string Name { get; }

    /// <summary>The loaded programs by name (programs with autoload off are absent).</summary>
    public IReadOnlyDictionary<string, BpfProgramHandle> Programs { get; }

    /// <summary>The maps by libbpf's name (global-variable maps as e.g. <c>obj_name.rodata</c>; reused maps under the object's name).</summary>
    public IReadOnlyDictionary<string, BpfMapHandle> Maps { get; }

    /// <summary>What libbpf printed while loading (all levels).</summary>
    public IReadOnlyList<LibbpfMessage> LibbpfLog { get; }

    /// <summary>The loaded program named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such loaded program; the message lists the loaded ones.</exception>
    public BpfProgramHandle GetProgram(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _programs.TryGetValue(name, out var h)
            ? h
            : throw new KeyNotFoundException($"Object '{Name}' has no loaded program '{name}' (autoload off, or no such program); loaded: {string.Join(", ", _programs.Keys)}.");
    }

    /// <summary>The map named <paramref name="name"/>; global-variable maps also by section name (<c>.rodata</c>, <c>.data</c>, ...).</summary>
    /// <exception cref="KeyNotFoundException">No such map; the message lists the maps.</exception>
    public BpfMapHandle GetMap(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_maps.TryGetValue(name, out var h) || (_sectionAliases.TryGetValue(name, out var real) && _maps.TryGetValue(real, out h)))
        {
            return h;
        }

        throw new KeyNotFoundException($"Object '{Name}' has no map '{name}'; its maps: {string.Join(", ", _maps.Keys)}.");
    }

    /// <summary>Closes every program and map descriptor of this object and the libbpf object.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var h in _programs.Values)
        {
            h.Dispose();
        }

        foreach (var h in _maps.Values)
        {
            h.Dispose();
        }

        _object.Dispose();
    }
}
