// Small BPF programs for map tests, built with the assembler.
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Maps.Tests.Support;

internal static class Programs
{
    /// <summary>XDP program returning a constant.</summary>
    public static BpfProgramHandle Returning(int value)
        => Bpf.ProgramLoad(new BpfProgramSpec("t_ret", BpfProgramType.Xdp, new BpfAssembler().Return(value).Build()));

    /// <summary>XDP program that tail-calls slot <paramref name="slot"/> of a program array and returns 1 if the slot is empty.</summary>
    public static BpfProgramHandle TailCaller(BpfMap programArray, int slot)
        => Bpf.ProgramLoad(new BpfProgramSpec("t_tail", BpfProgramType.Xdp, new BpfAssembler()
            .LoadMapFd(BpfRegister.R2, programArray.Handle)
            .Mov64(BpfRegister.R3, slot)
            .Call(BpfHelper.TailCall)
            .Return(1)
            .Build()));

    /// <summary>XDP program adding 1 to element 0 of a per-CPU u64 array (no atomics needed per CPU).</summary>
    public static BpfProgramHandle PerCpuIncrement(BpfMap perCpuArray)
        => Bpf.ProgramLoad(new BpfProgramSpec("t_pcpu", BpfProgramType.Xdp, new BpfAssembler()
            .Store(BpfSize.Word, BpfRegister.R10, -4, 0)
            .LoadMapFd(BpfRegister.R1, perCpuArray.Handle)
            .Mov64(BpfRegister.R2, BpfRegister.R10).Alu64(BpfAluOp.Add, BpfRegister.R2, -4)
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out")
            .Load(BpfSize.DoubleWord, BpfRegister.R1, BpfRegister.R0, 0)
            .Alu64(BpfAluOp.Add, BpfRegister.R1, 1)
            .Store(BpfSize.DoubleWord, BpfRegister.R0, 0, BpfRegister.R1)
            .Label("out")
            .Return(2)
            .Build()));

    /// <summary>XDP program writing 0xABCD into element <paramref name="index"/> (u64) of an array through a map value pointer.</summary>
    public static BpfProgramHandle ArrayWriter(BpfMap array, int index, int value)
        => Bpf.ProgramLoad(new BpfProgramSpec("t_awr", BpfProgramType.Xdp, new BpfAssembler()
            .Store(BpfSize.Word, BpfRegister.R10, -4, index)
            .LoadMapFd(BpfRegister.R1, array.Handle)
            .Mov64(BpfRegister.R2, BpfRegister.R10).Alu64(BpfAluOp.Add, BpfRegister.R2, -4)
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out")
            .Store(BpfSize.DoubleWord, BpfRegister.R0, 0, value)
            .Label("out")
            .Return(2)
            .Build()));
}
