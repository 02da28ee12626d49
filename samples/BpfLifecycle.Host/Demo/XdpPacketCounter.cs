// A self-contained XDP packet counter built with the SDK's assembler: the smallest real program the demo can load,
// attach and read back without an object file. The lifecycle demo uses signed artifacts instead.
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Host.Demo;

/// <summary>An XDP program that counts every packet in a one-slot array map and passes it.</summary>
internal sealed class XdpPacketCounter : IDisposable
{
    private XdpPacketCounter(BpfMapHandle counter, BpfProgramHandle program)
    {
        Counter = counter;
        Program = program;
    }

    public BpfMapHandle Counter { get; }

    public BpfProgramHandle Program { get; }

    public static XdpPacketCounter Load()
    {
        var counter = Bpf.MapCreate(new BpfMapSpec("demo_packets", BpfMapType.Array, 4, 8, 1));
        try
        {
            var insns = new BpfAssembler()
                .Store(BpfSize.Word, BpfRegister.R10, -4, 0)          // key = 0 on the stack
                .LoadMapFd(BpfRegister.R1, counter)
                .Mov64(BpfRegister.R2, BpfRegister.R10)
                .Alu64(BpfAluOp.Add, BpfRegister.R2, -4)
                .Call(BpfHelper.MapLookupElem)
                .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "pass")
                .Mov64(BpfRegister.R1, 1)
                .AtomicAdd(BpfSize.DoubleWord, BpfRegister.R0, 0, BpfRegister.R1)
                .Label("pass")
                .Return(2)                                             // XDP_PASS
                .Build();
            var program = Bpf.ProgramLoad(new BpfProgramSpec("demo_count", BpfProgramType.Xdp, insns));
            return new XdpPacketCounter(counter, program);
        }
        catch
        {
            counter.Dispose();
            throw;
        }
    }

    public ulong Read()
    {
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[8];
        key.Clear();
        return Bpf.MapLookup(Counter, key, value) ? BitConverter.ToUInt64(value) : 0;
    }

    public void Dispose()
    {
        Program.Dispose();
        Counter.Dispose();
    }
}
