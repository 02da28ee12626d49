// One eBPF instruction (struct bpf_insn) and the opcode constants of the instruction set.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Interop.Asm;

/// <summary>An eBPF register.</summary>
public enum BpfRegister : byte
{
    /// <summary>Return value and helper result.</summary>
    R0 = 0,
    /// <summary>First argument; the context on entry.</summary>
    R1 = 1,
    /// <summary>Second argument.</summary>
    R2 = 2,
    /// <summary>Third argument.</summary>
    R3 = 3,
    /// <summary>Fourth argument.</summary>
    R4 = 4,
    /// <summary>Fifth argument.</summary>
    R5 = 5,
    /// <summary>Callee-saved.</summary>
    R6 = 6,
    /// <summary>Callee-saved.</summary>
    R7 = 7,
    /// <summary>Callee-saved.</summary>
    R8 = 8,
    /// <summary>Callee-saved.</summary>
    R9 = 9,
    /// <summary>Read-only frame pointer.</summary>
    R10 = 10,
}

/// <summary>struct bpf_insn: 8 bytes, blittable.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
public readonly record struct BpfInstruction
{
    /// <summary>Creates an instruction from its fields.</summary>
    public BpfInstruction(byte opcode, BpfRegister dst, BpfRegister src, short offset, int immediate)
    {
        Opcode = opcode;
        Registers = (byte)(((byte)src << 4) | ((byte)dst & 0x0f));
        Offset = offset;
        Immediate = immediate;
    }

    /// <summary>The opcode byte.</summary>
    public byte Opcode { get; }

    /// <summary>dst_reg in the low nibble, src_reg in the high nibble.</summary>
    public byte Registers { get; }

    /// <summary>Signed offset.</summary>
    public short Offset { get; }

    /// <summary>Signed immediate.</summary>
    public int Immediate { get; }

    /// <summary>The destination register.</summary>
    public BpfRegister Dst => (BpfRegister)(Registers & 0x0f);

    /// <summary>The source register (or pseudo source for special loads).</summary>
    public BpfRegister Src => (BpfRegister)(Registers >> 4);

    /// <summary>Returns a copy with another offset.</summary>
    public BpfInstruction WithOffset(short offset) => new(Opcode, Dst, Src, offset, Immediate);

    /// <summary>Returns a copy with another immediate.</summary>
    public BpfInstruction WithImmediate(int imm) => new(Opcode, Dst, Src, Offset, imm);

    /// <inheritdoc />
    public override string ToString() => $"op=0x{Opcode:x2} dst=r{(int)Dst} src=r{(int)Src} off={Offset} imm={Immediate}";
}

/// <summary>Opcode building blocks (<c>BPF_*</c> in linux/bpf_common.h and linux/bpf.h).</summary>
public static class BpfOpcode
{
#pragma warning disable CS1591 // the names are the kernel's
    public const byte LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, JMP32 = 0x06, ALU64 = 0x07;
    public const byte W = 0x00, H = 0x08, B = 0x10, DW = 0x18;
    public const byte IMM = 0x00, ABS = 0x20, IND = 0x40, MEM = 0x60, ATOMIC = 0xc0;
    public const byte K = 0x00, X = 0x08;
    public const byte ADD = 0x00, SUB = 0x10, MUL = 0x20, DIV = 0x30, OR = 0x40, AND = 0x50, LSH = 0x60, RSH = 0x70,
        NEG = 0x80, MOD = 0x90, XOR = 0xa0, MOV = 0xb0, ARSH = 0xc0, END = 0xd0;
    public const byte JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JSET = 0x40, JNE = 0x50, JSGT = 0x60, JSGE = 0x70,
        CALL = 0x80, EXIT = 0x90, JLT = 0xa0, JLE = 0xb0, JSLT = 0xc0, JSLE = 0xd0;
    /// <summary>src_reg of a 64-bit immediate load that holds a map fd.</summary>
    public const byte PSEUDO_MAP_FD = 1;
    /// <summary>src_reg of a 64-bit immediate load that holds a map fd plus a value offset.</summary>
    public const byte PSEUDO_MAP_VALUE = 2;
    /// <summary>Atomic fetch modifier.</summary>
    public const int FETCH = 0x01;
#pragma warning restore CS1591
}

/// <summary>Helper function ids (<c>enum bpf_func_id</c>) the SDK's generated programs use.</summary>
public enum BpfHelper
{
    /// <summary>bpf_map_lookup_elem</summary>
    MapLookupElem = 1,
    /// <summary>bpf_map_update_elem</summary>
    MapUpdateElem = 2,
    /// <summary>bpf_map_delete_elem</summary>
    MapDeleteElem = 3,
    /// <summary>bpf_ktime_get_ns</summary>
    KtimeGetNs = 5,
    /// <summary>bpf_trace_printk</summary>
    TracePrintk = 6,
    /// <summary>bpf_get_prandom_u32</summary>
    GetPrandomU32 = 7,
    /// <summary>bpf_get_smp_processor_id</summary>
    GetSmpProcessorId = 8,
    /// <summary>bpf_tail_call</summary>
    TailCall = 12,
    /// <summary>bpf_get_current_pid_tgid</summary>
    GetCurrentPidTgid = 14,
    /// <summary>bpf_ringbuf_output</summary>
    RingbufOutput = 130,
    /// <summary>bpf_ringbuf_reserve</summary>
    RingbufReserve = 131,
    /// <summary>bpf_ringbuf_submit</summary>
    RingbufSubmit = 132,
    /// <summary>bpf_ringbuf_discard</summary>
    RingbufDiscard = 133,
}
