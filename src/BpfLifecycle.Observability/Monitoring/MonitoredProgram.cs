// What the monitor is told about a program version: its identity and the kernel objects its evidence comes from.
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Observability.Monitoring;

/// <summary>A dispatcher slot whose per-CPU counters (<c>struct bpflc_dispatch_counters</c>) belong to a version.</summary>
/// <param name="Counters">The dispatcher's per-CPU array of counters (key: slot).</param>
/// <param name="Slot">The version's slot.</param>
public sealed record DispatcherSlot(BpfMapHandle Counters, uint Slot);

/// <summary>
/// A program version to monitor. Every source is optional; the monitor uses what is given. The handles are borrowed:
/// they must stay open until the registration is disposed, and the caller closes them afterwards.
/// </summary>
public sealed class MonitoredProgram
{
    /// <summary>The version's identity (meter tags, log state, alerts).</summary>
    public required ProgramIdentity Identity { get; init; }

    /// <summary>The <c>bpflc_version_id</c> the version was loaded with, to attribute log records in a shared ring.</summary>
    public ulong? VersionId { get; init; }

    /// <summary>The entry program, for kernel run statistics (run_cnt, run_time_ns, recursion_misses).
    /// Leave null for a version reached through a tail call: the kernel does not count those.</summary>
    public BpfProgramHandle? Program { get; init; }

    /// <summary>The version's <c>bpflc_stats</c> map (runs, errors, nanoseconds, lost log records).</summary>
    public BpfMapHandle? StatsMap { get; init; }

    /// <summary>The version's <c>bpflc_logs</c> ring buffer, drained into ILogger.</summary>
    public BpfMapHandle? LogRing { get; init; }

    /// <summary>The dispatcher slot serving the version, if it runs behind a dispatcher.</summary>
    public DispatcherSlot? Dispatcher { get; init; }

    /// <summary>Maps whose kernel memory counts towards the version (<see cref="HealthRules.MapMemory"/>).</summary>
    public IReadOnlyList<BpfMapHandle> Maps { get; init; } = [];

    /// <summary>This version's map memory budget, overriding <see cref="HealthRuleOptions.MapMemoryBudgetBytes"/>.</summary>
    public long? MapMemoryBudgetBytes { get; init; }
}

/// <summary>What changed for one version between two polls.</summary>
/// <param name="Program">The version.</param>
/// <param name="At">When the poll was taken.</param>
/// <param name="Sample">The health sample: runs and errors from the version's stats map when there is one (else dispatcher
/// picks, else kernel run_cnt), duration from the stats map (else kernel run time), CPU share from kernel run time (else the stats map).</param>
/// <param name="Kernel">Kernel statistics deltas (zero without a program handle or while statistics are off).</param>
/// <param name="Version">The version's own counter deltas (zero without a stats map).</param>
/// <param name="Dispatcher">Dispatcher slot counter deltas (zero without a slot).</param>
public sealed record ProgramObservation(ProgramIdentity Program, DateTimeOffset At, HealthSample Sample, Stats.KernelProgramStats Kernel, Abi.BpfLcStats Version, Abi.BpfLcDispatchCounters Dispatcher);
