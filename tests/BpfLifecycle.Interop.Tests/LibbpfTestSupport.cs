// Test support for the libbpf binding tests: running a loaded program once
// with BPF_PROG_TEST_RUN, and listing every anonymous-inode descriptor (BPF objects and BTF) the process holds.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop.Tests;

internal static unsafe class LibbpfTestSupport
{
    /// <summary>Runs a program once over <paramref name="packet"/> and returns its return value.</summary>
    public static uint TestRun(BpfProgramHandle program, ReadOnlySpan<byte> packet)
        => Bpf.TestRun(program, packet, new byte[packet.Length + 256]).ReturnValue;

    /// <summary>A 64-byte Ethernet/IPv4/UDP frame.</summary>
    public static byte[] UdpPacket(int length = 64)
    {
        var p = new byte[length];
        p[12] = 0x08; // EtherType IPv4
        p[14] = 0x45; // version 4, IHL 5
        p[23] = 17; // UDP
        return p;
    }

    /// <summary>Every descriptor of this process that points at an anonymous inode (bpf-map, bpf-prog, btf, ...).</summary>
    public static Dictionary<int, string> AnonInodeFds()
    {
        var result = new Dictionary<int, string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget is { } target && target.StartsWith("anon_inode:", StringComparison.Ordinal))
                {
                    result[int.Parse(Path.GetFileName(entry), System.Globalization.CultureInfo.InvariantCulture)] = target;
                }
            }
            catch (IOException)
            {
            }
        }

        return result;
    }

    public static ulong ReadU64(BpfMapHandle map, uint key)
    {
        Span<byte> value = stackalloc byte[8];
        Assert.True(Bpf.MapLookup(map, BitConverter.GetBytes(key), value));
        return MemoryMarshal.Read<ulong>(value);
    }
}
