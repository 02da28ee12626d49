// A real BPF ring buffer producer built with the assembler: numbered records with checkable content,
// optional discards, and failed reservations counted in a lost counter map (the SDK's convention).
using System.Buffers.Binary;
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Maps.Tests.Support;

internal sealed class RingProducer : IDisposable
{
    private readonly BpfMap _sequence;

    /// <param name="ring">Ring buffer map to write to.</param>
    /// <param name="lost">Lost counter map (array or per-CPU array, u32 -> u64), or null.</param>
    /// <param name="sizes">Record sizes (>= 8), chosen by sequence number modulo their count (a power of two).</param>
    /// <param name="discardEvery">Discard (instead of submit) records whose sequence number is a multiple of this; 0 = never.</param>
    public RingProducer(BpfMap ring, BpfMap? lost, int[] sizes, int discardEvery = 0)
    {
        if (sizes.Length is not (1 or 2 or 4 or 8) || sizes.Any(s => s < 8))
        {
            throw new ArgumentException("1, 2, 4 or 8 sizes of at least 8 bytes", nameof(sizes));
        }

        Sizes = sizes;
        DiscardEvery = discardEvery;
        _sequence = BpfMap.Create(new BpfMapSpec("t_seq", BpfMapType.Array, 4, 8, 1));
        try
        {
            Program = Bpf.ProgramLoad(new BpfProgramSpec("t_ringprod", BpfProgramType.Xdp, Build(ring, lost)));
        }
        catch
        {
            _sequence.Dispose();
            throw;
        }
    }

    public int[] Sizes { get; }

    public int DiscardEvery { get; }

    public BpfProgramHandle Program { get; }

    /// <summary>Sequence numbers handed out so far (one per attempted record).</summary>
    public ulong Produced
    {
        get
        {
            Span<byte> v = stackalloc byte[8];
            _sequence.TryLookup(stackalloc byte[4], v);
            return BinaryPrimitives.ReadUInt64LittleEndian(v);
        }
    }

    /// <summary>Runs the producer <paramref name="count"/> times on the calling CPU.</summary>
    public void Produce(uint count) => TestRun.Run(Program, count);

    public int SizeOf(ulong seq) => Sizes[(int)(seq & (ulong)(Sizes.Length - 1))];

    public bool IsDiscarded(ulong seq) => DiscardEvery > 0 && seq % (ulong)DiscardEvery == 0;

    /// <summary>Checks a record's size and content; returns its sequence number.</summary>
    public ulong Validate(ReadOnlySpan<byte> record)
    {
        if (record.Length < 8)
        {
            throw new InvalidDataException($"record of {record.Length} bytes");
        }

        var seq = BinaryPrimitives.ReadUInt64LittleEndian(record);
        if (record.Length != SizeOf(seq))
        {
            throw new InvalidDataException($"record {seq}: {record.Length} bytes, expected {SizeOf(seq)}");
        }

        for (var w = 1; w < record.Length / 8; w++)
        {
            var expected = seq ^ (ulong)(w * 0x01010101);
            if (BinaryPrimitives.ReadUInt64LittleEndian(record[(w * 8)..]) != expected)
            {
                throw new InvalidDataException($"record {seq}: word {w} corrupt");
            }
        }

        for (var b = record.Length / 8 * 8; b < record.Length; b++)
        {
            if (record[b] != (byte)seq)
            {
                throw new InvalidDataException($"record {seq}: byte {b} corrupt");
            }
        }

        if (IsDiscarded(seq))
        {
            throw new InvalidDataException($"record {seq} was discarded by the producer but was read");
        }

        return seq;
    }

    private BpfInstruction[] Build(BpfMap ring, BpfMap? lost)
    {
        var a = new BpfAssembler();
        // seq = __sync_fetch_and_add(&sequence[0], 1)
        a.Store(BpfSize.Word, BpfRegister.R10, -4, 0);
        a.LoadMapFd(BpfRegister.R1, _sequence.Handle);
        a.Mov64(BpfRegister.R2, BpfRegister.R10).Alu64(BpfAluOp.Add, BpfRegister.R2, -4);
        a.Call(BpfHelper.MapLookupElem);
        a.JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out");
        a.Mov64(BpfRegister.R7, 1);
        a.Emit(new BpfInstruction((byte)(BpfOpcode.STX | BpfOpcode.DW | BpfOpcode.ATOMIC), BpfRegister.R0, BpfRegister.R7, 0, BpfOpcode.ADD | BpfOpcode.FETCH));
        for (var k = 0; k < Sizes.Length; k++)
        {
            var size = Sizes[k];
            a.Label($"size{k}");
            if (Sizes.Length > 1)
            {
                a.Mov64(BpfRegister.R1, BpfRegister.R7).Alu64(BpfAluOp.And, BpfRegister.R1, Sizes.Length - 1);
                a.JumpIf(BpfJumpOp.Ne, BpfRegister.R1, k, k + 1 < Sizes.Length ? $"size{k + 1}" : "out");
            }

            a.LoadMapFd(BpfRegister.R1, ring.Handle);
            a.Mov64(BpfRegister.R2, size).Mov64(BpfRegister.R3, 0);
            a.Call(BpfHelper.RingbufReserve);
            a.JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "lost");
            a.Mov64(BpfRegister.R8, BpfRegister.R0);
            a.Store(BpfSize.DoubleWord, BpfRegister.R8, 0, BpfRegister.R7);
            for (var w = 1; w < size / 8; w++)
            {
                a.Mov64(BpfRegister.R1, BpfRegister.R7).Alu64(BpfAluOp.Xor, BpfRegister.R1, w * 0x01010101);
                a.Store(BpfSize.DoubleWord, BpfRegister.R8, (short)(w * 8), BpfRegister.R1);
            }

            for (var b = size / 8 * 8; b < size; b++)
            {
                a.Store(BpfSize.Byte, BpfRegister.R8, (short)b, BpfRegister.R7);
            }

            if (DiscardEvery > 0)
            {
                a.Mov64(BpfRegister.R1, BpfRegister.R7).Alu64(BpfAluOp.Mod, BpfRegister.R1, DiscardEvery);
                a.JumpIf(BpfJumpOp.Eq, BpfRegister.R1, 0, $"discard{k}");
            }

            a.Mov64(BpfRegister.R1, BpfRegister.R8).Mov64(BpfRegister.R2, 0).Call(BpfHelper.RingbufSubmit).Jump("out");
            if (DiscardEvery > 0)
            {
                a.Label($"discard{k}");
                a.Mov64(BpfRegister.R1, BpfRegister.R8).Mov64(BpfRegister.R2, 0).Call(BpfHelper.RingbufDiscard).Jump("out");
            }
        }

        a.Label("lost");
        if (lost is not null)
        {
            a.LoadMapFd(BpfRegister.R1, lost.Handle);
            a.Mov64(BpfRegister.R2, BpfRegister.R10).Alu64(BpfAluOp.Add, BpfRegister.R2, -4);
            a.Call(BpfHelper.MapLookupElem);
            a.JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "out");
            a.Mov64(BpfRegister.R1, 1);
            a.AtomicAdd(BpfSize.DoubleWord, BpfRegister.R0, 0, BpfRegister.R1);
        }

        a.Label("out");
        a.Return(2);
        return a.Build();
    }

    public void Dispose()
    {
        Program.Dispose();
        _sequence.Dispose();
    }
}
