// Program arrays (BPF_MAP_TYPE_PROG_ARRAY): the slots a bpf_tail_call jumps through.
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps;

/// <summary>A program array: each slot holds a program that <c>bpf_tail_call</c> can jump to, or nothing.</summary>
public sealed class ProgramArray : BpfMap
{
    private ProgramArray(BpfMapHandle handle, BpfMapInfo info) : base(handle, info)
    {
        if (info.Type != BpfMapType.ProgArray)
        {
            throw new ArgumentException($"Map '{info.Name}' is a {info.Type} map, not a program array.", nameof(info));
        }
    }

    /// <summary>Creates a program array with <paramref name="length"/> slots.</summary>
    public static ProgramArray Create(string name, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return Open(Bpf.MapCreate(new BpfMapSpec(name, BpfMapType.ProgArray, 4, 4, (uint)length)));
    }

    /// <summary>Wraps a program array descriptor (ownership passes; closed if it is another map type).</summary>
    public static ProgramArray Open(BpfMapHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        try
        {
            return new ProgramArray(handle, Bpf.GetMapInfo(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Opens a pinned program array.</summary>
    public static new ProgramArray OpenPinned(string path, BpfMapAccess access = BpfMapAccess.ReadWrite)
        => Open(Bpf.GetPinnedMap(path, (BpfMapFlags)access));

    /// <summary>Number of slots.</summary>
    public int Length => MaxEntries;

    /// <summary>Puts a program in a slot, replacing what was there (one atomic update).</summary>
    public void Set(int index, BpfProgramHandle program)
    {
        ArgumentNullException.ThrowIfNull(program);
        CheckIndex(index);
        var key = (uint)index;
        var fd = program.Fd;
        Bpf.MapUpdate(Handle, BpfMap<uint, int>.AsBytes(in key), BpfMap<uint, int>.AsBytes(in fd));
    }

    /// <summary>Empties a slot; false when it was already empty.</summary>
    public bool Clear(int index)
    {
        CheckIndex(index);
        var key = (uint)index;
        return Bpf.MapDelete(Handle, BpfMap<uint, int>.AsBytes(in key));
    }

    /// <summary>The id of the program in a slot; false when the slot is empty.</summary>
    public bool TryGetProgramId(int index, out uint programId)
    {
        CheckIndex(index);
        var key = (uint)index;
        programId = 0;
        Span<byte> value = stackalloc byte[4];
        if (!Bpf.MapLookup(Handle, BpfMap<uint, int>.AsBytes(in key), value))
        {
            return false;
        }

        programId = BitConverter.ToUInt32(value);
        return true;
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)MaxEntries)
        {
            ThrowHelper.IndexOutOfRange(index, MaxEntries);
        }
    }
}
