// The traffic dispatcher: a small generated program that picks a slot (the active one, or the canary
// slot for a share of runs given in basis points), counts the pick per CPU, and tail-calls the version
// program held in that PROG_ARRAY slot. A missed tail call is counted and answered with a safe verdict.
// Every switch, canary step or rollback is one 8-byte write of the control word.
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Deployment.Dispatch;

/// <summary>What the dispatcher routes: the active slot, a canary slot and the canary's share.</summary>
/// <param name="ActiveSlot">Slot that serves every run not picked for the canary.</param>
/// <param name="CanarySlot">Slot that serves the canary share.</param>
/// <param name="CanaryBasisPoints">Share of runs for the canary slot, 0..10000 (1 bp = 0.01%).</param>
public readonly record struct DispatcherControl(int ActiveSlot, int CanarySlot, int CanaryBasisPoints)
{
    /// <summary>The control word as stored in the control map.</summary>
    public ulong Encode()
    {
        if ((uint)ActiveSlot >= Dispatcher.SlotCount || (uint)CanarySlot >= Dispatcher.SlotCount)
        {
            throw new ArgumentOutOfRangeException(nameof(ActiveSlot), $"Slots are 0..{Dispatcher.SlotCount - 1}; got active {ActiveSlot}, canary {CanarySlot}.");
        }

        if (CanaryBasisPoints is < 0 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(CanaryBasisPoints), $"Canary share {CanaryBasisPoints} bp is outside 0..10000.");
        }

        return (uint)CanaryBasisPoints | ((ulong)(uint)ActiveSlot << 16) | ((ulong)(uint)CanarySlot << 24);
    }

    /// <summary>Decodes a control word.</summary>
    public static DispatcherControl Decode(ulong word) => new((int)((word >> 16) & 0xff), (int)((word >> 24) & 0xff), (int)(word & 0xffff));
}

/// <summary>Dispatcher counters per slot (<c>struct bpflc_dispatch_counters</c>), summed over CPUs.</summary>
/// <param name="Picks">Runs routed to each slot.</param>
/// <param name="MissedPerSlot">Tail calls into each slot that failed (empty slot) and took the fallback verdict.</param>
public sealed record DispatcherCounters(IReadOnlyList<long> Picks, IReadOnlyList<long> MissedPerSlot)
{
    /// <summary>Missed tail calls over all slots.</summary>
    public long Missed => MissedPerSlot.Sum();
}

/// <summary>
/// A dispatcher for one program type: the generated entry program, its control map, its PROG_ARRAY of version
/// slots and its per-CPU counters. Attach <see cref="Program"/> once; route with <see cref="SetControl"/>.
/// </summary>
public sealed class Dispatcher : IDisposable
{
    /// <summary>Number of version slots (one serving, one candidate).</summary>
    public const int SlotCount = 2;

    private const string ProgramPin = "prog";
    private const string ControlPin = "control";
    private const string SlotsPin = "slots";
    private const string CountersPin = "counters";

    private Dispatcher(BpfProgramHandle program, BpfMapHandle control, BpfMapHandle slots, BpfMapHandle counters, BpfProgramType type)
    {
        Program = program;
        Control = control;
        Slots = slots;
        Counters = counters;
        ProgramType = type;
    }

    /// <summary>The entry program to attach.</summary>
    public BpfProgramHandle Program { get; }

    /// <summary>The control map (ARRAY, one u64 control word).</summary>
    public BpfMapHandle Control { get; }

    /// <summary>The version slots (PROG_ARRAY).</summary>
    public BpfMapHandle Slots { get; }

    /// <summary>Per-CPU counters keyed by slot, each <c>struct bpflc_dispatch_counters { u64 picks; u64 missed_tail_calls; }</c> (the layout Observability reads).</summary>
    public BpfMapHandle Counters { get; }

    /// <summary>Program type the dispatcher was generated for.</summary>
    public BpfProgramType ProgramType { get; }

    /// <summary>Program types the dispatcher can be generated for.</summary>
    public static bool Supports(BpfProgramType type) => type is BpfProgramType.Xdp or BpfProgramType.SchedCls or BpfProgramType.SocketFilter or BpfProgramType.Tracepoint;

    /// <summary>The verdict a missed tail call returns: pass the packet / keep the socket data / no-op.</summary>
    public static int DefaultFallbackVerdict(BpfProgramType type) => type switch
    {
        BpfProgramType.Xdp => 2, // XDP_PASS
        BpfProgramType.SchedCls => -1, // TCX_NEXT: let the rest of the chain decide
        BpfProgramType.SocketFilter => -1, // keep the whole packet (truncated to 0xffffffff)
        BpfProgramType.Tracepoint => 0,
        _ => throw new NotSupportedException($"No dispatcher for program type {type}: supported are Xdp, SchedCls, SocketFilter and Tracepoint."),
    };

    /// <summary>Creates the maps and loads the generated dispatcher with the control word routing everything to slot 0.</summary>
    public static Dispatcher Create(BpfProgramType type, string name = "bpflc_dispatch", int? fallbackVerdict = null)
    {
        if (!Supports(type))
        {
            throw new NotSupportedException($"No dispatcher for program type {type}: supported are Xdp, SchedCls, SocketFilter and Tracepoint.");
        }

        var fallback = fallbackVerdict ?? DefaultFallbackVerdict(type);
        BpfMapHandle? control = null, slots = null, counters = null;
        try
        {
            control = Bpf.MapCreate(new BpfMapSpec("bpflc_ctl", BpfMapType.Array, 4, 8, 1));
            slots = Bpf.MapCreate(new BpfMapSpec("bpflc_slots", BpfMapType.ProgArray, 4, 4, SlotCount));
            counters = Bpf.MapCreate(new BpfMapSpec("bpflc_cnt", BpfMapType.PerCpuArray, 4, 16, SlotCount));
            var insns = Generate(control, slots, counters, fallback);
            // Slots only accept programs whose expected attach type matches the owner's; libbpf loads SEC("xdp") with BPF_XDP.
            var program = Bpf.ProgramLoad(new BpfProgramSpec(name, type, insns, "Dual MIT/GPL") { ExpectedAttachType = type == BpfProgramType.Xdp ? BpfAttachType.Xdp : null });
            var d = new Dispatcher(program, control, slots, counters, type);
            d.SetControl(new DispatcherControl(0, 1, 0));
            return d;
        }
        catch
        {
            control?.Dispose();
            slots?.Dispose();
            counters?.Dispose();
            throw;
        }
    }

    /// <summary>Reopens a dispatcher pinned with <see cref="Pin"/>.</summary>
    public static Dispatcher FromPins(string directory)
    {
        var program = Bpf.GetPinnedProgram(Path.Combine(directory, ProgramPin));
        var control = Bpf.GetPinnedMap(Path.Combine(directory, ControlPin));
        var slots = Bpf.GetPinnedMap(Path.Combine(directory, SlotsPin));
        var counters = Bpf.GetPinnedMap(Path.Combine(directory, CountersPin));
        return new Dispatcher(program, control, slots, counters, Bpf.GetProgramInfo(program).Type);
    }

    /// <summary>True when a dispatcher is pinned in <paramref name="directory"/>.</summary>
    public static bool IsPinned(string directory) => File.Exists(Path.Combine(directory, ProgramPin));

    /// <summary>Pins program and maps into <paramref name="directory"/> (created if needed).</summary>
    public void Pin(string directory)
    {
        Directory.CreateDirectory(directory);
        Bpf.Pin(Control, Path.Combine(directory, ControlPin));
        Bpf.Pin(Slots, Path.Combine(directory, SlotsPin));
        Bpf.Pin(Counters, Path.Combine(directory, CountersPin));
        Bpf.Pin(Program, Path.Combine(directory, ProgramPin));
    }

    /// <summary>Removes the pins of a dispatcher directory (missing pins are ignored).</summary>
    public static void Unpin(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (var name in new[] { ProgramPin, ControlPin, SlotsPin, CountersPin })
        {
            File.Delete(Path.Combine(directory, name));
        }

        if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
        }
    }

    /// <summary>Routes traffic: one map write.</summary>
    public void SetControl(DispatcherControl control)
    {
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[8];
        BitConverter.TryWriteBytes(value, control.Encode());
        Bpf.MapUpdate(Control, key, value);
    }

    /// <summary>The current routing.</summary>
    public DispatcherControl GetControl()
    {
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[8];
        Bpf.MapLookup(Control, key, value);
        return DispatcherControl.Decode(BitConverter.ToUInt64(value));
    }

    /// <summary>Puts a version's entry program into a slot (only ever into a slot that receives no traffic).</summary>
    public void SetSlot(int slot, BpfProgramHandle program)
    {
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[4];
        BitConverter.TryWriteBytes(key, slot);
        BitConverter.TryWriteBytes(value, program.Fd);
        Bpf.MapUpdate(Slots, key, value);
    }

    /// <summary>Empties a slot (a run routed there then counts as a missed tail call).</summary>
    public void ClearSlot(int slot)
    {
        Span<byte> key = stackalloc byte[4];
        BitConverter.TryWriteBytes(key, slot);
        Bpf.MapDelete(Slots, key);
    }

    /// <summary>The id of the program in a slot, or null when empty.</summary>
    public uint? GetSlotProgramId(int slot)
    {
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[4];
        BitConverter.TryWriteBytes(key, slot);
        return Bpf.MapLookup(Slots, key, value) ? BitConverter.ToUInt32(value) : null;
    }

    /// <summary>Reads the counters, summed over CPUs.</summary>
    public DispatcherCounters ReadCounters()
    {
        var cpus = Bpf.PossibleCpuCount;
        var value = new byte[16 * cpus];
        Span<byte> key = stackalloc byte[4];
        var picks = new long[SlotCount];
        var missed = new long[SlotCount];
        for (var i = 0; i < SlotCount; i++)
        {
            BitConverter.TryWriteBytes(key, i);
            if (Bpf.MapLookup(Counters, key, value))
            {
                for (var c = 0; c < cpus; c++)
                {
                    picks[i] += BitConverter.ToInt64(value, c * 16);
                    missed[i] += BitConverter.ToInt64(value, c * 16 + 8);
                }
            }
        }

        return new DispatcherCounters(picks, missed);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Program.Dispose();
        Control.Dispose();
        Slots.Dispose();
        Counters.Dispose();
    }

    internal static BpfInstruction[] Generate(BpfMapHandle control, BpfMapHandle slots, BpfMapHandle counters, int fallbackVerdict)
    {
        var a = new BpfAssembler();
        a.Mov64(BpfRegister.R6, BpfRegister.R1) // r6 = ctx
            .Call(BpfHelper.GetPrandomU32)
            .Mov64(BpfRegister.R7, BpfRegister.R0)
            .Alu64(BpfAluOp.Mod, BpfRegister.R7, 10_000) // r7 = random 0..9999
            .Store(BpfSize.Word, BpfRegister.R10, -4, 0)
            .LoadMapFd(BpfRegister.R1, control)
            .Mov64(BpfRegister.R2, BpfRegister.R10)
            .Alu64(BpfAluOp.Add, BpfRegister.R2, -4)
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "fallback")
            .Load(BpfSize.DoubleWord, BpfRegister.R2, BpfRegister.R0, 0) // control word
            .Mov64(BpfRegister.R9, BpfRegister.R2)
            .Alu64(BpfAluOp.And, BpfRegister.R9, 0xffff) // canary share (bp)
            .Mov64(BpfRegister.R8, BpfRegister.R2)
            .Alu64(BpfAluOp.Rsh, BpfRegister.R8, 16)
            .Alu64(BpfAluOp.And, BpfRegister.R8, 0xff) // active slot
            .JumpIf(BpfJumpOp.Ge, BpfRegister.R7, BpfRegister.R9, "picked")
            .Mov64(BpfRegister.R8, BpfRegister.R2)
            .Alu64(BpfAluOp.Rsh, BpfRegister.R8, 24)
            .Alu64(BpfAluOp.And, BpfRegister.R8, 0xff) // canary slot
            .Label("picked")
            .Store(BpfSize.Word, BpfRegister.R10, -8, BpfRegister.R8)
            .LoadMapFd(BpfRegister.R1, counters)
            .Mov64(BpfRegister.R2, BpfRegister.R10)
            .Alu64(BpfAluOp.Add, BpfRegister.R2, -8)
            .Call(BpfHelper.MapLookupElem)
            // r9 keeps the slot's counters across the tail call (callee-saved); null when the slot has none.
            .Mov64(BpfRegister.R9, BpfRegister.R0)
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R0, 0, "tail")
            .Load(BpfSize.DoubleWord, BpfRegister.R1, BpfRegister.R0, 0)
            .Alu64(BpfAluOp.Add, BpfRegister.R1, 1)
            .Store(BpfSize.DoubleWord, BpfRegister.R0, 0, BpfRegister.R1) // picks
            .Label("tail")
            .Mov64(BpfRegister.R1, BpfRegister.R6)
            .LoadMapFd(BpfRegister.R2, slots)
            .Mov64(BpfRegister.R3, BpfRegister.R8)
            .Call(BpfHelper.TailCall)
            // Only reached when the slot is empty: count it and give the safe verdict.
            .JumpIf(BpfJumpOp.Eq, BpfRegister.R9, 0, "fallback")
            .Load(BpfSize.DoubleWord, BpfRegister.R1, BpfRegister.R9, 8)
            .Alu64(BpfAluOp.Add, BpfRegister.R1, 1)
            .Store(BpfSize.DoubleWord, BpfRegister.R9, 8, BpfRegister.R1) // missed_tail_calls
            .Label("fallback")
            .Return(fallbackVerdict);
        return a.Build();
    }
}
