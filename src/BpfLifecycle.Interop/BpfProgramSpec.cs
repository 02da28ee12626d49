// What a program is meant to be before loading, and what the kernel reports of a loaded one.
using BpfLifecycle.Interop.Asm;

namespace BpfLifecycle.Interop;

/// <summary>A program to load: type, instructions, licence and attach expectations.</summary>
/// <param name="Name">Object name (up to 15 bytes are kept by the kernel).</param>
/// <param name="Type">Program type.</param>
/// <param name="Instructions">The instructions.</param>
/// <param name="License">Licence string; GPL-compatible licences unlock GPL-only helpers.</param>
public sealed record BpfProgramSpec(string Name, BpfProgramType Type, IReadOnlyList<BpfInstruction> Instructions, string License = "Dual MIT/GPL")
{
    /// <summary>Expected attach type, required by some program types (e.g. cgroup skb).</summary>
    public BpfAttachType? ExpectedAttachType { get; init; }

    /// <summary>Program flags (<c>BPF_F_*</c> of BPF_PROG_LOAD).</summary>
    public uint Flags { get; init; }
}

/// <summary>How a program load collects the verifier's log.</summary>
public sealed class BpfProgramLoadOptions
{
    /// <summary>Log level to request on the first attempt (0 = only on failure, 1 = verbose, 2 = stats).</summary>
    public uint LogLevel { get; init; }

    /// <summary>Initial log buffer size in bytes; grown with <c>log_true_size</c> when too small.</summary>
    public int LogSize { get; init; } = 64 * 1024;

    /// <summary>Largest log buffer the loader will allocate.</summary>
    public int MaxLogSize { get; init; } = 64 * 1024 * 1024;
}

/// <summary>What the kernel reports of a loaded program (what <c>bpftool prog show</c> shows).</summary>
public sealed record BpfProgramInfo
{
    /// <summary>Kernel program id.</summary>
    public required uint Id { get; init; }
    /// <summary>Program name as the kernel kept it.</summary>
    public required string Name { get; init; }
    /// <summary>Program type.</summary>
    public required BpfProgramType Type { get; init; }
    /// <summary>Program tag (hex of the 8-byte hash of its instructions).</summary>
    public required string Tag { get; init; }
    /// <summary>Load time, nanoseconds since boot (CLOCK_BOOTTIME).</summary>
    public required ulong LoadTimeNs { get; init; }
    /// <summary>The uid that loaded the program.</summary>
    public required uint CreatedByUid { get; init; }
    /// <summary>Ids of the maps the program uses.</summary>
    public required IReadOnlyList<uint> MapIds { get; init; }
    /// <summary>Run count (while statistics are enabled).</summary>
    public required ulong RunCount { get; init; }
    /// <summary>Total run time in nanoseconds (while statistics are enabled).</summary>
    public required ulong RunTimeNs { get; init; }
    /// <summary>Runs skipped because the program was already running on the CPU.</summary>
    public required ulong RecursionMisses { get; init; }
    /// <summary>Instructions the verifier processed.</summary>
    public required uint VerifiedInstructions { get; init; }
    /// <summary>Whether the licence is GPL-compatible.</summary>
    public required bool GplCompatible { get; init; }
    /// <summary>Size of the translated program in bytes.</summary>
    public required uint XlatedLength { get; init; }
    /// <summary>Size of the JIT image in bytes.</summary>
    public required uint JitedLength { get; init; }
    /// <summary>BTF object id, or 0.</summary>
    public required uint BtfId { get; init; }
    /// <summary>Device the program is bound to (offload), or 0.</summary>
    public required uint IfIndex { get; init; }
}
