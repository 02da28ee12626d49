// Test programs built with the assembler that count events into slots of a one-entry array map.
using System.Buffers.Binary;
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Interop.Tests.Links;

/// <summary>A one-entry array map whose value holds <see cref="Slots"/> 64-bit counters, and programs that bump them.</summary>
internal sealed class Counters : IDisposable
{
    public const int Slots = 4;

    public Counters(string name = "t_counters")
    {
        Map = Bpf.MapCreate(new BpfMapSpec(name, BpfMapType.Array, 4, 8 * Slots, 1));
    }

    public BpfMapHandle Map { get; }

    public ulong this[int slot]
    {
        get
        {
            var value = new byte[8 * Slots];
            Assert.True(Bpf.MapLookup(Map, new byte[4], value));
            return BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(slot * 8));
        }
    }

    /// <summary>Polls until the slot reaches <paramref name="atLeast"/> or two seconds pass (packets on a veth are handled asynchronously); returns its value.</summary>
    public async Task<ulong> WaitForAsync(int slot, ulong atLeast)
    {
        var deadline = Environment.TickCount64 + 2000;
        ulong value;
        while ((value = this[slot]) < atLeast && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        return value;
    }

    /// <summary>Emits: r1 = &amp;counter[slot]; r2 = 1; lock *(u64 *)r1 += r2. Clobbers r1 and r2.</summary>
    public BpfAssembler EmitIncrement(BpfAssembler asm, int slot)
        => asm.LoadMapValue(BpfRegister.R1, Map.Fd, slot * 8)
              .Mov64(BpfRegister.R2, 1)
              .AtomicAdd(BpfSize.DoubleWord, BpfRegister.R1, 0, BpfRegister.R2);

    /// <summary>XDP: counts IPv4 UDP packets to <paramref name="port"/> (IHL 5) in <paramref name="slot"/>, returns XDP_PASS.</summary>
    public BpfProgramHandle LoadXdpUdpCounter(int slot, int port, string name = "t_xdp_count")
    {
        var asm = new BpfAssembler()
            .Load(BpfSize.Word, BpfRegister.R2, BpfRegister.R1, 0)       // data
            .Load(BpfSize.Word, BpfRegister.R3, BpfRegister.R1, 4)       // data_end
            .Mov64(BpfRegister.R4, BpfRegister.R2)
            .Alu64(BpfAluOp.Add, BpfRegister.R4, 38)
            .JumpIf(BpfJumpOp.Gt, BpfRegister.R4, BpfRegister.R3, "pass")
            .Load(BpfSize.Half, BpfRegister.R5, BpfRegister.R2, 12)
            .JumpIf(BpfJumpOp.Ne, BpfRegister.R5, 0x0008, "pass")        // ETH_P_IP in network order
            .Load(BpfSize.Byte, BpfRegister.R5, BpfRegister.R2, 23)
            .JumpIf(BpfJumpOp.Ne, BpfRegister.R5, 17, "pass")            // IPPROTO_UDP
            .Load(BpfSize.Half, BpfRegister.R5, BpfRegister.R2, 36)
            .JumpIf(BpfJumpOp.Ne, BpfRegister.R5, BinaryPrimitives.ReverseEndianness((ushort)port), "pass");
        EmitIncrement(asm, slot);
        asm.Label("pass").Return(2);                                      // XDP_PASS
        return Bpf.ProgramLoad(new BpfProgramSpec(name, BpfProgramType.Xdp, asm.Build()));
    }

    /// <summary>Counts every run in <paramref name="slot"/> and returns <paramref name="returnValue"/>; with <paramref name="pid"/>, only runs in that process.</summary>
    public BpfProgramHandle LoadCounter(BpfProgramType type, int slot, int returnValue, int? pid = null, BpfAttachType? expectedAttachType = null, string name = "t_count")
    {
        var asm = new BpfAssembler();
        if (pid is { } p)
        {
            asm.Call(BpfHelper.GetCurrentPidTgid)
               .Alu64(BpfAluOp.Rsh, BpfRegister.R0, 32)
               .JumpIf(BpfJumpOp.Ne, BpfRegister.R0, p, "out");
        }

        EmitIncrement(asm, slot);
        asm.Label("out").Return(returnValue);
        return Bpf.ProgramLoad(new BpfProgramSpec(name, type, asm.Build()) { ExpectedAttachType = expectedAttachType });
    }

    public void Dispose() => Map.Dispose();
}
