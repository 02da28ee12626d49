// BPF_PROG_TEST_RUN for feeding maps and ring buffers from real BPF programs (XDP, fed a dummy packet).
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps.Tests.Support;

internal static unsafe partial class TestRun
{
    private const int BpfProgTestRun = 10;

    // Layout of the kernel's test-run attribute (union bpf_attr, BPF_PROG_TEST_RUN member).
    [StructLayout(LayoutKind.Sequential)]
    private struct bpf_prog_test_run_attr
    {
        public uint prog_fd;
        public uint retval;
        public uint data_size_in;
        public uint data_size_out;
        public ulong data_in;
        public ulong data_out;
        public uint repeat;
        public uint duration;
        public uint ctx_size_in;
        public uint ctx_size_out;
        public ulong ctx_in;
        public ulong ctx_out;
        public uint flags;
        public uint cpu;
        public uint batch_size;
        private uint _pad;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long cmd, void* attr, long size);

    private static readonly byte[] s_packet = new byte[64];

    /// <summary>Runs an XDP program <paramref name="repeat"/> times on the calling CPU; returns its last return value.</summary>
    public static uint Run(BpfProgramHandle program, uint repeat = 1)
    {
        fixed (byte* data = s_packet)
        {
            bpf_prog_test_run_attr attr = default;
            attr.prog_fd = (uint)program.Fd;
            attr.data_in = (ulong)data;
            attr.data_size_in = (uint)s_packet.Length;
            attr.repeat = repeat;
            var nr = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 321 : 280;
            if (Syscall(nr, BpfProgTestRun, &attr, sizeof(bpf_prog_test_run_attr)) < 0)
            {
                throw new BpfException(BpfCommand.ProgTestRun, Marshal.GetLastPInvokeError(), "test run");
            }

            return attr.retval;
        }
    }
}
