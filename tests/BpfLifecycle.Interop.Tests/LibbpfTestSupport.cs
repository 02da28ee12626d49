// Test support for the libbpf binding tests: running a loaded program once with BPF_PROG_TEST_RUN on a UDP frame and
// reading a u64 counter.
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

    public static ulong ReadU64(BpfMapHandle map, uint key)
    {
        Span<byte> value = stackalloc byte[8];
        Assert.True(Bpf.MapLookup(map, BitConverter.GetBytes(key), value));
        return MemoryMarshal.Read<ulong>(value);
    }
}
