// Loads one program version from an ELF object through the libbpf binding: sets globals, reuses the live
// version's state maps after a compatibility check, loads only the deployed program, and hands back the
// loaded object (which owns its descriptors).
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Kernel;

/// <summary>A loaded version: its entry program and every map it uses, all owned by this instance.</summary>
internal sealed class LoadedObject : IDisposable
{
    private readonly LoadedBpfObject _loaded;

    public LoadedObject(LoadedBpfObject loaded, string program, BpfProgramType programType)
    {
        _loaded = loaded;
        Program = loaded.GetProgram(program);
        ProgramType = programType;
    }

    public BpfProgramHandle Program { get; }

    public BpfProgramType ProgramType { get; }

    public IReadOnlyDictionary<string, BpfMapHandle> Maps => _loaded.Maps;

    public void Dispose() => _loaded.Dispose();
}

/// <summary>A state map whose shape differs between the live version and the new object.</summary>
public sealed class IncompatibleStateMapException : InvalidOperationException
{
    /// <summary>Creates the error.</summary>
    public IncompatibleStateMapException(string mapName, IReadOnlyList<string> differences)
        : base($"State map '{mapName}' of the new version is incompatible with the live one: {string.Join("; ", differences)} (new object -> live map). Nothing was changed.")
    {
        MapName = mapName;
        Differences = differences;
    }

    /// <summary>The map.</summary>
    public string MapName { get; }

    /// <summary>Readable differences, e.g. <c>ValueSize: 8 changed to 16</c>.</summary>
    public IReadOnlyList<string> Differences { get; }
}

internal static class ObjectLoader
{
    // The SDK sets the version id on every load; objects built without bpf_lifecycle.h simply lack it.
    private const string OptionalVersionIdGlobal = "bpflc_version_id";

    /// <summary>Map specs of an object without loading it (for compatibility checks and gates).</summary>
    public static IReadOnlyList<BpfMapSpec> ReadMapSpecs(ReadOnlyMemory<byte> elf)
    {
        using var obj = BpfObjectFile.Open(elf, "artifact");
        return obj.Maps.Select(m => m.Spec with { Name = m.Name }).ToList();
    }

    /// <summary>Differences between an object's map spec and a live map, in words; empty when compatible.</summary>
    public static IReadOnlyList<string> Compare(BpfMapSpec objectSpec, BpfMapInfo live) => BpfMapIncompatibleException.Compare(objectSpec, live.ToSpec());

    /// <summary>
    /// Loads <paramref name="programName"/> from the object. Maps named in <paramref name="reuse"/> are replaced
    /// by the given live maps after their shape was checked; globals are written into .rodata/.data/.bss first.
    /// </summary>
    public static LoadedObject Load(ReadOnlyMemory<byte> elf, string programName, IReadOnlyDictionary<string, BpfMapHandle> reuse, IReadOnlyDictionary<string, ulong> globals)
    {
        using var obj = BpfObjectFile.Open(elf, "artifact");
        var program = obj.Programs.FirstOrDefault(p => p.Name == programName)
            ?? throw new InvalidOperationException($"The object has no program '{programName}' (programs: {string.Join(", ", obj.Programs.Select(p => p.Name))}).");
        foreach (var p in obj.Programs.Where(p => p.Name != programName))
        {
            obj.SetAutoload(p.Name, false);
        }

        foreach (var (name, live) in reuse)
        {
            var spec = obj.Maps.FirstOrDefault(m => m.Name == name)
                ?? throw new IncompatibleStateMapException(name, [$"the new object has no map '{name}'"]);
            var diff = Compare(spec.Spec, Bpf.GetMapInfo(live));
            if (diff.Count > 0)
            {
                throw new IncompatibleStateMapException(name, diff);
            }

            obj.ReuseMap(name, live);
        }

        Span<byte> bytes = stackalloc byte[8];
        foreach (var (name, value) in globals)
        {
            var variable = obj.Variables.FirstOrDefault(v => v.Name == name);
            if (variable is null)
            {
                if (name == OptionalVersionIdGlobal)
                {
                    continue;
                }

                throw new InvalidOperationException($"The object has no global variable '{name}' (globals: {string.Join(", ", obj.Variables.Select(v => v.Name))}).");
            }

            if (variable.Size is not (1 or 2 or 4 or 8))
            {
                throw new InvalidOperationException($"Global '{name}' is {variable.Size} bytes; only 1, 2, 4 or 8-byte integers can be set from a manifest.");
            }

            if (variable.Size < 8 && value >> (variable.Size * 8) != 0)
            {
                throw new InvalidOperationException($"Value {value} does not fit global '{name}' ({variable.Size} bytes).");
            }

            BitConverter.TryWriteBytes(bytes, value);
            obj.SetGlobal(name, bytes[..variable.Size]);
        }

        var loaded = obj.Load();
        try
        {
            return new LoadedObject(loaded, programName, program.Type);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }
}
