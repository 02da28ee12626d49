// Fixtures shared by the benchmarks and the compare tool: a ring filler program driven by BPF_PROG_TEST_RUN.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Benchmarks.Shared;

/// <summary>
/// An XDP program that writes one record per run, its sequence number first: <see cref="RecordSize"/> bytes, or with
/// <c>mixed</c> either <see cref="RecordSize"/> or <see cref="OtherRecordSize"/> bytes chosen by a bit of a multiplicative
/// hash of the sequence number (no pattern a branch predictor could learn).
/// </summary>
public sealed class RingFiller : IDisposable
{
    public const int RecordSize = 64;
    public const int OtherRecordSize = 40;

    private readonly BpfMapHandle _sequence;
    private readonly BpfProgramHandle _program;
    private static readonly byte[] s_packet = new byte[64];

    public RingFiller(BpfMapHandle ring, bool mixed = false)
    {
        _sequence = Bpf.MapCreate(new BpfMapSpec("bench_seq", BpfMapType.Array, 4, 8, 1));
        var a = new BpfAssembler()
            .Store(BpfSize.Word, BpfRegister.R10, -4, 0)
            .LoadMapFd(BpfRegister.R1, _sequence)
            .Mov64(BpfRegister.R2, BpfRegister.R10).Alu64(BpfAluOp.Add, BpfRegister.R2, -4)
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out")
            .Mov64(BpfRegister.R7, 1)
            .Emit(new BpfInstruction((byte)(BpfOpcode.STX | BpfOpcode.DW | BpfOpcode.ATOMIC), BpfRegister.R0, BpfRegister.R7, 0, BpfOpcode.ADD | BpfOpcode.FETCH));
        if (mixed)
        {
            // bit 40 of seq * 0x9E3779B97F4A7C15 picks the size.
            a.LoadImm64(BpfRegister.R1, unchecked((long)0x9E3779B97F4A7C15UL))
                .Alu64(BpfAluOp.Mul, BpfRegister.R1, BpfRegister.R7)
                .Alu64(BpfAluOp.Rsh, BpfRegister.R1, 40)
                .Alu64(BpfAluOp.And, BpfRegister.R1, 1)
                .JumpIf(BpfJumpOp.Eq, BpfRegister.R1, 0, "large");
            Reserve(a, ring, OtherRecordSize);
            a.Jump("out");
            a.Label("large");
        }

        Reserve(a, ring, RecordSize);
        a.Label("out").Return(2);
        _program = Bpf.ProgramLoad(new BpfProgramSpec("bench_fill", BpfProgramType.Xdp, a.Build()));
    }

    private static void Reserve(BpfAssembler a, BpfMapHandle ring, int size)
        => a.LoadMapFd(BpfRegister.R1, ring)
            .Mov64(BpfRegister.R2, size).Mov64(BpfRegister.R3, 0)
            .Call(BpfHelper.RingbufReserve)
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out")
            .Store(BpfSize.DoubleWord, BpfRegister.R0, 0, BpfRegister.R7)
            .Mov64(BpfRegister.R1, BpfRegister.R0).Mov64(BpfRegister.R2, 0)
            .Call(BpfHelper.RingbufSubmit);

    /// <summary>Writes <paramref name="records"/> records (one test run with that repeat count).</summary>
    public void Fill(uint records) => Bpf.TestRun(_program, s_packet, Span<byte>.Empty, records);

    public void Dispose()
    {
        _program.Dispose();
        _sequence.Dispose();
    }
}
