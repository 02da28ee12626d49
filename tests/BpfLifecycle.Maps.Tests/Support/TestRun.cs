// Runs BPF producers through BPF_PROG_TEST_RUN to feed maps and ring buffers from real programs.
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps.Tests.Support;

internal static class TestRun
{
    private static readonly byte[] s_packet = new byte[64];

    /// <summary>Runs an XDP program <paramref name="repeat"/> times on the calling CPU; returns its last return value.</summary>
    public static uint Run(BpfProgramHandle program, uint repeat = 1)
        => Bpf.TestRun(program, s_packet, Span<byte>.Empty, repeat).ReturnValue;
}
