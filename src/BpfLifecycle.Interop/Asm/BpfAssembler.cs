// A small eBPF assembler: enough to write test programs and the SDK's dispatcher in C#.
namespace BpfLifecycle.Interop.Asm;

/// <summary>Size of a memory access.</summary>
public enum BpfSize : byte
{
    /// <summary>1 byte.</summary>
    Byte = BpfOpcode.B,
    /// <summary>2 bytes.</summary>
    Half = BpfOpcode.H,
    /// <summary>4 bytes.</summary>
    Word = BpfOpcode.W,
    /// <summary>8 bytes.</summary>
    DoubleWord = BpfOpcode.DW,
}

/// <summary>Arithmetic operations.</summary>
public enum BpfAluOp : byte
{
#pragma warning disable CS1591
    Add = BpfOpcode.ADD, Sub = BpfOpcode.SUB, Mul = BpfOpcode.MUL, Div = BpfOpcode.DIV, Or = BpfOpcode.OR,
    And = BpfOpcode.AND, Lsh = BpfOpcode.LSH, Rsh = BpfOpcode.RSH, Mod = BpfOpcode.MOD, Xor = BpfOpcode.XOR,
    Mov = BpfOpcode.MOV, Arsh = BpfOpcode.ARSH,
#pragma warning restore CS1591
}

/// <summary>Conditional jump operations.</summary>
public enum BpfJumpOp : byte
{
#pragma warning disable CS1591
    Eq = BpfOpcode.JEQ, Gt = BpfOpcode.JGT, Ge = BpfOpcode.JGE, Set = BpfOpcode.JSET, Ne = BpfOpcode.JNE,
    SignedGt = BpfOpcode.JSGT, SignedGe = BpfOpcode.JSGE, Lt = BpfOpcode.JLT, Le = BpfOpcode.JLE,
    SignedLt = BpfOpcode.JSLT, SignedLe = BpfOpcode.JSLE,
#pragma warning restore CS1591
}

/// <summary>
/// Builds an instruction sequence with named labels. Jumps may refer to labels defined later;
/// <see cref="Build"/> resolves them and fails on unknown or duplicate labels.
/// </summary>
public sealed class BpfAssembler
{
    private readonly List<BpfInstruction> _insns = new();
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<(int Index, string Label)> _fixups = new();

    /// <summary>The number of instructions emitted so far.</summary>
    public int Count => _insns.Count;

    /// <summary>Appends a raw instruction.</summary>
    public BpfAssembler Emit(BpfInstruction insn)
    {
        _insns.Add(insn);
        return this;
    }

    /// <summary>Defines a label at the next instruction.</summary>
    public BpfAssembler Label(string name)
    {
        if (!_labels.TryAdd(name, _insns.Count))
        {
            throw new InvalidOperationException($"Label '{name}' is defined twice.");
        }

        return this;
    }

    /// <summary>dst = imm (64-bit, sign-extended).</summary>
    public BpfAssembler Mov64(BpfRegister dst, int imm) => Alu64(BpfAluOp.Mov, dst, imm);

    /// <summary>dst = src (64-bit).</summary>
    public BpfAssembler Mov64(BpfRegister dst, BpfRegister src) => Alu64(BpfAluOp.Mov, dst, src);

    /// <summary>dst = dst op imm (64-bit).</summary>
    public BpfAssembler Alu64(BpfAluOp op, BpfRegister dst, int imm)
        => Emit(new((byte)(BpfOpcode.ALU64 | (byte)op | BpfOpcode.K), dst, 0, 0, imm));

    /// <summary>dst = dst op src (64-bit).</summary>
    public BpfAssembler Alu64(BpfAluOp op, BpfRegister dst, BpfRegister src)
        => Emit(new((byte)(BpfOpcode.ALU64 | (byte)op | BpfOpcode.X), dst, src, 0, 0));

    /// <summary>dst = dst op imm (32-bit, upper half zeroed).</summary>
    public BpfAssembler Alu32(BpfAluOp op, BpfRegister dst, int imm)
        => Emit(new((byte)(BpfOpcode.ALU | (byte)op | BpfOpcode.K), dst, 0, 0, imm));

    /// <summary>dst = dst op src (32-bit, upper half zeroed).</summary>
    public BpfAssembler Alu32(BpfAluOp op, BpfRegister dst, BpfRegister src)
        => Emit(new((byte)(BpfOpcode.ALU | (byte)op | BpfOpcode.X), dst, src, 0, 0));

    /// <summary>dst = 64-bit immediate (two instruction slots).</summary>
    public BpfAssembler LoadImm64(BpfRegister dst, long value)
    {
        Emit(new(BpfOpcode.LD | BpfOpcode.DW | BpfOpcode.IMM, dst, 0, 0, unchecked((int)value)));
        return Emit(new(0, 0, 0, 0, unchecked((int)(value >> 32))));
    }

    /// <summary>dst = pointer to the map (a map fd relocated by the kernel at load).</summary>
    public BpfAssembler LoadMapFd(BpfRegister dst, BpfMapHandle map) => LoadMapFd(dst, map.Fd);

    /// <summary>dst = pointer to the map whose fd is <paramref name="mapFd"/>.</summary>
    public BpfAssembler LoadMapFd(BpfRegister dst, int mapFd)
    {
        Emit(new(BpfOpcode.LD | BpfOpcode.DW | BpfOpcode.IMM, dst, (BpfRegister)BpfOpcode.PSEUDO_MAP_FD, 0, mapFd));
        return Emit(new(0, 0, 0, 0, 0));
    }

    /// <summary>dst = pointer into the value of array map <paramref name="mapFd"/> at <paramref name="offset"/> (direct value access).</summary>
    public BpfAssembler LoadMapValue(BpfRegister dst, int mapFd, int offset)
    {
        Emit(new(BpfOpcode.LD | BpfOpcode.DW | BpfOpcode.IMM, dst, (BpfRegister)BpfOpcode.PSEUDO_MAP_VALUE, 0, mapFd));
        return Emit(new(0, 0, 0, 0, offset));
    }

    /// <summary>dst = *(size *)(src + offset).</summary>
    public BpfAssembler Load(BpfSize size, BpfRegister dst, BpfRegister src, short offset)
        => Emit(new((byte)(BpfOpcode.LDX | (byte)size | BpfOpcode.MEM), dst, src, offset, 0));

    /// <summary>*(size *)(dst + offset) = src.</summary>
    public BpfAssembler Store(BpfSize size, BpfRegister dst, short offset, BpfRegister src)
        => Emit(new((byte)(BpfOpcode.STX | (byte)size | BpfOpcode.MEM), dst, src, offset, 0));

    /// <summary>*(size *)(dst + offset) = imm.</summary>
    public BpfAssembler Store(BpfSize size, BpfRegister dst, short offset, int imm)
        => Emit(new((byte)(BpfOpcode.ST | (byte)size | BpfOpcode.MEM), dst, 0, offset, imm));

    /// <summary>Atomic *(size *)(dst + offset) += src (word or double word).</summary>
    public BpfAssembler AtomicAdd(BpfSize size, BpfRegister dst, short offset, BpfRegister src)
    {
        if (size is not (BpfSize.Word or BpfSize.DoubleWord))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "Atomic add takes a word or a double word.");
        }

        return Emit(new((byte)(BpfOpcode.STX | (byte)size | BpfOpcode.ATOMIC), dst, src, offset, BpfOpcode.ADD));
    }

    /// <summary>Unconditional jump to a label.</summary>
    public BpfAssembler Jump(string label) => EmitJump(new(BpfOpcode.JMP | BpfOpcode.JA, 0, 0, 0, 0), label);

    /// <summary>if (dst op imm) goto label (64-bit compare).</summary>
    public BpfAssembler JumpIf(BpfJumpOp op, BpfRegister dst, int imm, string label)
        => EmitJump(new((byte)(BpfOpcode.JMP | (byte)op | BpfOpcode.K), dst, 0, 0, imm), label);

    /// <summary>if (dst op src) goto label (64-bit compare).</summary>
    public BpfAssembler JumpIf(BpfJumpOp op, BpfRegister dst, BpfRegister src, string label)
        => EmitJump(new((byte)(BpfOpcode.JMP | (byte)op | BpfOpcode.X), dst, src, 0, 0), label);

    /// <summary>Calls a helper function.</summary>
    public BpfAssembler Call(BpfHelper helper) => Call((int)helper);

    /// <summary>Calls a helper function by id.</summary>
    public BpfAssembler Call(int helperId) => Emit(new(BpfOpcode.JMP | BpfOpcode.CALL, 0, 0, 0, helperId));

    /// <summary>Returns r0.</summary>
    public BpfAssembler Exit() => Emit(new(BpfOpcode.JMP | BpfOpcode.EXIT, 0, 0, 0, 0));

    /// <summary>r0 = value; exit.</summary>
    public BpfAssembler Return(int value) => Mov64(BpfRegister.R0, value).Exit();

    /// <summary>Resolves labels and returns the program.</summary>
    public BpfInstruction[] Build()
    {
        var result = _insns.ToArray();
        foreach (var (index, label) in _fixups)
        {
            if (!_labels.TryGetValue(label, out var target))
            {
                throw new InvalidOperationException($"Jump at instruction {index} refers to undefined label '{label}'.");
            }

            var delta = target - index - 1;
            if (delta is < short.MinValue or > short.MaxValue)
            {
                throw new InvalidOperationException($"Jump at instruction {index} to '{label}' is out of range ({delta}).");
            }

            result[index] = result[index].WithOffset((short)delta);
        }

        return result;
    }

    private BpfAssembler EmitJump(BpfInstruction insn, string label)
    {
        _fixups.Add((_insns.Count, label));
        return Emit(insn);
    }
}
