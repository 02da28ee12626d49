// Fixtures shared by the benchmarks and the compare tool: a ring filler program driven by BPF_PROG_TEST_RUN.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Benchmarks.Shared;

/// <summary>
/// An XDP program that writes one record per run, its sequence number first: <see cref="RecordSize"/> bytes, or with
/// <c>mixed</c> either <see cref="RecordSize"/> or <see cref="OtherRecordSize"/> bytes chosen by the top bit of splitmix64's
/// finaliser of the sequence number (a random-looking choice a branch predictor cannot learn).
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
            // The top bit of splitmix64's finaliser of seq picks the size.
            a.Mov64(BpfRegister.R1, BpfRegister.R7);
            Mix(a, 30, unchecked((long)0xBF58476D1CE4E5B9UL));
            Mix(a, 27, unchecked((long)0x94D049BB133111EBUL));
            a.Mov64(BpfRegister.R2, BpfRegister.R1).Alu64(BpfAluOp.Rsh, BpfRegister.R2, 31).Alu64(BpfAluOp.Xor, BpfRegister.R1, BpfRegister.R2)
                .Alu64(BpfAluOp.Rsh, BpfRegister.R1, 63)
                .JumpIf(BpfJumpOp.Eq, BpfRegister.R1, 0, "large");
            Reserve(a, ring, OtherRecordSize);
            a.Jump("out");
            a.Label("large");
        }

        Reserve(a, ring, RecordSize);
        a.Label("out").Return(2);
        _program = Bpf.ProgramLoad(new BpfProgramSpec("bench_fill", BpfProgramType.Xdp, a.Build()));
    }

    /// <summary>r1 = (r1 ^ (r1 &gt;&gt; shift)) * multiplier.</summary>
    private static void Mix(BpfAssembler a, int shift, long multiplier)
        => a.Mov64(BpfRegister.R2, BpfRegister.R1).Alu64(BpfAluOp.Rsh, BpfRegister.R2, shift).Alu64(BpfAluOp.Xor, BpfRegister.R1, BpfRegister.R2)
            .LoadImm64(BpfRegister.R2, multiplier).Alu64(BpfAluOp.Mul, BpfRegister.R1, BpfRegister.R2);

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
