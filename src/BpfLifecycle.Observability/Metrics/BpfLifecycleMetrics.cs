// The SDK's System.Diagnostics.Metrics instruments: one meter (BpfLifecycle), instruments created once,
// lowercase dotted names with UCUM units, tagged with application, program, version and attach point.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Observability.Metrics;

/// <summary>
/// Meters for BPF programs run by the SDK. Exporters (OpenTelemetry, prometheus-net) subscribe to the meter named
/// <see cref="MeterName"/>; nothing here depends on one of them.
/// </summary>
public sealed class BpfLifecycleMetrics
{
    /// <summary>The meter name every instrument belongs to.</summary>
    public const string MeterName = "BpfLifecycle";

    /// <summary>Tag: application name.</summary>
    public const string ApplicationTag = "bpflifecycle.application";

    /// <summary>Tag: program name.</summary>
    public const string ProgramTag = "bpflifecycle.program";

    /// <summary>Tag: version label.</summary>
    public const string VersionTag = "bpflifecycle.version";

    /// <summary>Tag: attach point.</summary>
    public const string AttachPointTag = "bpflifecycle.attach_point";

    /// <summary>Tag on rollouts: the strategy used.</summary>
    public const string StrategyTag = "bpflifecycle.strategy";

    /// <summary>Tag on rollbacks: why.</summary>
    public const string ReasonTag = "bpflifecycle.reason";

    /// <summary>Tag on alerts: severity.</summary>
    public const string SeverityTag = "bpflifecycle.severity";

    /// <summary>Tag on alerts: the rule.</summary>
    public const string RuleTag = "bpflifecycle.rule";

    /// <summary>Instrument names.</summary>
    public static class Names
    {
        /// <summary>Counter, <c>{run}</c>: program runs.</summary>
        public const string Runs = "bpflifecycle.program.runs";
        /// <summary>Counter, <c>{error}</c>: errors counted by the program.</summary>
        public const string Errors = "bpflifecycle.program.errors";
        /// <summary>Histogram, <c>s</c>: mean run duration over each observation window.</summary>
        public const string RunDuration = "bpflifecycle.program.run.duration";
        /// <summary>Counter, <c>s</c>: run time summed over all runs.</summary>
        public const string RunTime = "bpflifecycle.program.run.time";
        /// <summary>Gauge, <c>1</c>: share of all online CPUs' time spent running the program.</summary>
        public const string CpuUtilization = "bpflifecycle.program.cpu.utilization";
        /// <summary>Counter, <c>{call}</c>: tail calls into the version that fell through.</summary>
        public const string MissedTailCalls = "bpflifecycle.program.tail_calls.missed";
        /// <summary>Counter, <c>{run}</c>: runs the kernel skipped because the program was already running on the CPU.</summary>
        public const string RecursionMisses = "bpflifecycle.program.recursion_misses";
        /// <summary>Gauge, <c>By</c>: kernel memory of the version's maps.</summary>
        public const string MapMemory = "bpflifecycle.map.memory";
        /// <summary>Counter, <c>{rollout}</c>: rollouts started.</summary>
        public const string Rollouts = "bpflifecycle.rollouts";
        /// <summary>Counter, <c>{rollback}</c>: rollbacks.</summary>
        public const string Rollbacks = "bpflifecycle.rollbacks";
        /// <summary>Counter, <c>{record}</c>: ring buffer log records forwarded.</summary>
        public const string RingBufferRecords = "bpflifecycle.ringbuf.records";
        /// <summary>Counter, <c>{record}</c>: log records the program could not reserve (counted in <c>bpflc_stats.lost_logs</c>).</summary>
        public const string RingBufferLostRecords = "bpflifecycle.ringbuf.records.lost";
        /// <summary>Counter, <c>{record}</c>: log records rejected as malformed.</summary>
        public const string RingBufferMalformedRecords = "bpflifecycle.ringbuf.records.malformed";
        /// <summary>Counter, <c>{alert}</c>: alerts delivered to sinks.</summary>
        public const string Alerts = "bpflifecycle.alerts";
    }

    private readonly Counter<long> _runs;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _runDuration;
    private readonly Counter<double> _runTime;
    private readonly Gauge<double> _cpu;
    private readonly Counter<long> _missedTailCalls;
    private readonly Counter<long> _recursionMisses;
    private readonly Gauge<long> _mapMemory;
    private readonly Counter<long> _rollouts;
    private readonly Counter<long> _rollbacks;
    private readonly Counter<long> _records;
    private readonly Counter<long> _lost;
    private readonly Counter<long> _malformed;
    private readonly Counter<long> _alerts;

    /// <summary>Creates the meter through <paramref name="meterFactory"/> and its instruments (once).</summary>
    public BpfLifecycleMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(new MeterOptions(MeterName) { Version = typeof(BpfLifecycleMetrics).Assembly.GetName().Version?.ToString(3) });
        _runs = Meter.CreateCounter<long>(Names.Runs, "{run}", "Program runs.");
        _errors = Meter.CreateCounter<long>(Names.Errors, "{error}", "Errors the program counted.");
        _runDuration = Meter.CreateHistogram<double>(Names.RunDuration, "s", "Mean run duration over each observation window.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1e-8, 5e-8, 1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 5e-5, 1e-4, 1e-3, 1e-2] });
        _runTime = Meter.CreateCounter<double>(Names.RunTime, "s", "Run time summed over all runs.");
        _cpu = Meter.CreateGauge<double>(Names.CpuUtilization, "1", "Share of all online CPUs' time spent running the program over the last window.");
        _missedTailCalls = Meter.CreateCounter<long>(Names.MissedTailCalls, "{call}", "Tail calls into the version that fell through.");
        _recursionMisses = Meter.CreateCounter<long>(Names.RecursionMisses, "{run}", "Runs skipped by the kernel because of recursion.");
        _mapMemory = Meter.CreateGauge<long>(Names.MapMemory, "By", "Kernel memory of the version's maps.");
        _rollouts = Meter.CreateCounter<long>(Names.Rollouts, "{rollout}", "Rollouts started.");
        _rollbacks = Meter.CreateCounter<long>(Names.Rollbacks, "{rollback}", "Rollbacks.");
        _records = Meter.CreateCounter<long>(Names.RingBufferRecords, "{record}", "Log records forwarded from the ring buffer.");
        _lost = Meter.CreateCounter<long>(Names.RingBufferLostRecords, "{record}", "Log records the program could not reserve in the ring buffer.");
        _malformed = Meter.CreateCounter<long>(Names.RingBufferMalformedRecords, "{record}", "Log records rejected as malformed.");
        _alerts = Meter.CreateCounter<long>(Names.Alerts, "{alert}", "Alerts delivered to sinks.");
    }

    /// <summary>The meter (owned by the factory).</summary>
    public Meter Meter { get; }

    /// <summary>Records one observation window of a program version.</summary>
    /// <param name="program">The version.</param>
    /// <param name="sample">The window's deltas.</param>
    /// <param name="recursionMisses">Kernel recursion misses in the window.</param>
    public void RecordWindow(ProgramIdentity program, in HealthSample sample, long recursionMisses = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        var tags = Tags(program);
        if (sample.Runs > 0)
        {
            _runs.Add(sample.Runs, tags);
            _runDuration.Record(sample.MeanDurationNs / 1e9, tags);
        }

        if (sample.Errors > 0)
        {
            _errors.Add(sample.Errors, tags);
        }

        if (sample.TotalNanoseconds > 0)
        {
            _runTime.Add(sample.TotalNanoseconds / 1e9, tags);
        }

        if (sample.MissedTailCalls > 0)
        {
            _missedTailCalls.Add(sample.MissedTailCalls, tags);
        }

        if (recursionMisses > 0)
        {
            _recursionMisses.Add(recursionMisses, tags);
        }

        _cpu.Record(sample.CpuShare, tags);
        _mapMemory.Record(sample.MapMemoryBytes, tags);
    }

    /// <summary>Counts a rollout of <paramref name="program"/> with a strategy.</summary>
    public void RecordRollout(ProgramIdentity program, string strategy)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (_rollouts.Enabled)
        {
            var tags = Tags(program);
            tags.Add(StrategyTag, strategy);
            _rollouts.Add(1, tags);
        }
    }

    /// <summary>Counts a rollback of <paramref name="program"/> (the version rolled back) with a reason.</summary>
    public void RecordRollback(ProgramIdentity program, string reason)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (_rollbacks.Enabled)
        {
            var tags = Tags(program);
            tags.Add(ReasonTag, reason);
            _rollbacks.Add(1, tags);
        }
    }

    /// <summary>Counts log records forwarded, lost and malformed for a program.</summary>
    public void RecordLogRecords(ProgramIdentity program, long forwarded, long lost = 0, long malformed = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (!(_records.Enabled || _lost.Enabled || _malformed.Enabled))
        {
            return;
        }

        var tags = Tags(program);
        if (forwarded > 0)
        {
            _records.Add(forwarded, tags);
        }

        if (lost > 0)
        {
            _lost.Add(lost, tags);
        }

        if (malformed > 0)
        {
            _malformed.Add(malformed, tags);
        }
    }

    /// <summary>Counts an alert delivered for a program.</summary>
    public void RecordAlert(ProgramIdentity program, string rule, AlertSeverity severity)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (_alerts.Enabled)
        {
            var tags = Tags(program);
            tags.Add(RuleTag, rule);
            tags.Add(SeverityTag, SeverityName(severity));
            _alerts.Add(1, tags);
        }
    }

    internal static string SeverityName(AlertSeverity severity) => severity switch
    {
        AlertSeverity.Critical => "critical",
        AlertSeverity.Warning => "warning",
        _ => "info",
    };

    private static TagList Tags(ProgramIdentity p)
    {
        var tags = new TagList
        {
            { ApplicationTag, p.Application },
            { ProgramTag, p.Program },
            { VersionTag, p.Version },
        };
        if (p.AttachPoint is not null)
        {
            tags.Add(AttachPointTag, p.AttachPoint);
        }

        return tags;
    }
}
