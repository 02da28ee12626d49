// Fixtures shared by the benchmarks and the compare tool: a ring filler program driven by BPF_PROG_TEST_RUN.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Benchmarks.Shared;

/// <summary>An XDP program that writes one record of <see cref="RecordSize"/> bytes (a sequence number first) per run.</summary>
public sealed unsafe partial class RingFiller : IDisposable
{
    public const int RecordSize = 64;

    private readonly BpfMapHandle _sequence;
    private readonly BpfProgramHandle _program;
    private static readonly byte[] s_packet = new byte[64];

    public RingFiller(BpfMapHandle ring)
    {
        _sequence = Bpf.MapCreate(new BpfMapSpec("bench_seq", BpfMapType.Array, 4, 8, 1));
        var a = new BpfAssembler()
            .Store(BpfSize.Word, BpfRegister.R10, -4, 0)
            .LoadMapFd(BpfRegister.R1, _sequence)
            .Mov64(BpfRegister.R2, BpfRegister.R10).Alu64(BpfAluOp.Add, BpfRegister.R2, -4)
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out")
            .Mov64(BpfRegister.R7, 1)
            .Emit(new BpfInstruction((byte)(BpfOpcode.STX | BpfOpcode.DW | BpfOpcode.ATOMIC), BpfRegister.R0, BpfRegister.R7, 0, BpfOpcode.ADD | BpfOpcode.FETCH))
            .LoadMapFd(BpfRegister.R1, ring)
            .Mov64(BpfRegister.R2, RecordSize).Mov64(BpfRegister.R3, 0)
            .Call(BpfHelper.RingbufReserve)
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out")
            .Store(BpfSize.DoubleWord, BpfRegister.R0, 0, BpfRegister.R7)
            .Mov64(BpfRegister.R1, BpfRegister.R0).Mov64(BpfRegister.R2, 0)
            .Call(BpfHelper.RingbufSubmit)
            .Label("out")
            .Return(2);
        _program = Bpf.ProgramLoad(new BpfProgramSpec("bench_fill", BpfProgramType.Xdp, a.Build()));
    }

    /// <summary>Writes <paramref name="records"/> records (one test run with that repeat count).</summary>
    public void Fill(uint records)
    {
        fixed (byte* data = s_packet)
        {
            TestRunAttr attr = default;
            attr.prog_fd = (uint)_program.Fd;
            attr.data_in = (ulong)data;
            attr.data_size_in = (uint)s_packet.Length;
            attr.repeat = records;
            var nr = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 321 : 280;
            if (Syscall(nr, 10 /* BPF_PROG_TEST_RUN */, &attr, sizeof(TestRunAttr)) < 0)
            {
                throw new BpfException(BpfCommand.ProgTestRun, Marshal.GetLastPInvokeError(), "ring fill");
            }
        }
    }

    public void Dispose()
    {
        _program.Dispose();
        _sequence.Dispose();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TestRunAttr
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
}
