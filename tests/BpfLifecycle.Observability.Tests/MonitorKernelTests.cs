// The monitor against the real kernel: lifecycle_xdp.o (built on bpf_lifecycle.h) is loaded with a version id,
// driven with BPF_PROG_TEST_RUN, and its kernel stats, own stats map, log ring and meters are read back.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Abi;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Metrics;
using BpfLifecycle.Observability.Monitoring;
using BpfLifecycle.TestKit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Observability.Tests;

public sealed class MonitorKernelTests : KernelTestBase
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeLogCollector _logs = new();

    public MonitorKernelTests() => Defer(_services.Dispose);

    private System.Diagnostics.Metrics.IMeterFactory Factory => _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();

    private BpfMonitor NewMonitor(Action<ObservabilityOptions>? configure = null)
    {
        var o = new ObservabilityOptions();
        o.Health.MinimumRuns = 100;
        o.Health.MinimumWindow = TimeSpan.FromSeconds(10);
        configure?.Invoke(o);
        var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(_logs)));
        Defer(loggerFactory.Dispose);
        return Track(new BpfMonitor(o, new BpfLifecycleMetrics(Factory), _time, loggerFactory));
    }

    private static ProgramIdentity Id(string version) => new("obs-test", "lifecycle_xdp", version, "test-run");

    [Fact]
    public void Poll_reads_kernel_stats_and_the_versions_own_counters_as_deltas()
    {
        using var prog = new ReferenceProgram(versionId: 42, errorEvery: 4);
        var monitor = NewMonitor();
        monitor.EnableKernelStats();
        Assert.True(monitor.KernelStatsEnabled);
        using var runs = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.Runs);
        using var errors = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.Errors);
        using var cpu = new MetricCollector<double>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.CpuUtilization);
        using var memory = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.MapMemory);

        prog.Run(10); // before registration: not part of any delta
        using var registration = monitor.Register(new MonitoredProgram
        {
            Identity = Id("42"), VersionId = 42, Program = prog.Program, StatsMap = prog.Stats, LogRing = prog.Logs,
            Maps = [prog.Stats, prog.Logs, prog.Config, prog.Packets],
        });

        prog.Run(400);
        _time.Advance(TimeSpan.FromSeconds(10));
        var obs = Assert.Single(monitor.Poll());
        Assert.Equal(400ul, obs.Kernel.RunCount);
        Assert.True(obs.Kernel.RunTimeNs > 0);
        Assert.Equal(400ul, obs.Version.runs);
        Assert.Equal(100ul, obs.Version.errors); // every 4th packet (packet counts 11..410 include 100 multiples of 4)
        Assert.True(obs.Version.ns > 0);
        Assert.Equal(400, obs.Sample.Runs);
        Assert.Equal(100, obs.Sample.Errors);
        Assert.Equal(TimeSpan.FromSeconds(10), obs.Sample.Window);
        var expectedCpu = obs.Kernel.RunTimeNs / (10e9 * Bpf.OnlineCpuCount);
        Assert.Equal(expectedCpu, obs.Sample.CpuShare, 12);
        Assert.True(obs.Sample.MapMemoryBytes > 256 * 1024, $"map memory {obs.Sample.MapMemoryBytes}"); // the ring alone is 256 KiB

        Assert.Equal(400, runs.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(100, errors.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal("42", runs.LastMeasurement!.Tags[BpfLifecycleMetrics.VersionTag]);
        Assert.Equal(expectedCpu, cpu.LastMeasurement!.Value, 12);
        Assert.Equal(obs.Sample.MapMemoryBytes, memory.LastMeasurement!.Value);

        // The next poll sees only what ran since.
        prog.Run(8);
        _time.Advance(TimeSpan.FromSeconds(10));
        obs = Assert.Single(monitor.Poll());
        Assert.Equal(8ul, obs.Kernel.RunCount);
        Assert.Equal(8, obs.Sample.Runs);
        Assert.Equal(2, obs.Sample.Errors);
        Assert.Equal(408, runs.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(408, monitor.GetWindow(Id("42")).Runs);
    }

    [Fact]
    public void Log_records_reach_ILogger_with_version_and_meta_values()
    {
        using var prog = new ReferenceProgram(versionId: 7);
        var monitor = NewMonitor();
        using var forwarded = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RingBufferRecords);
        using var registration = monitor.Register(new MonitoredProgram { Identity = Id("7"), VersionId = 7, StatsMap = prog.Stats, LogRing = prog.Logs });

        prog.Run(5); // log_sample_percent defaults to 0: nothing is logged
        Assert.Equal(0, monitor.DrainLogs());

        prog.SetConfig("log_sample_percent", 100);
        prog.Run(10);
        Assert.Equal(10, monitor.DrainLogs());
        var entries = _logs.GetSnapshot().Where(r => r.Category == BpfMonitor.LogCategory).ToList();
        Assert.Equal(10, entries.Count);
        Assert.All(entries, e =>
        {
            Assert.Equal(LogLevel.Information, e.Level);
            Assert.Equal("packet", e.Message);
            Assert.Equal("7", e.GetStructuredStateValue("bpf.version_id"));
            Assert.Equal("7", e.GetStructuredStateValue("bpf.version"));
            Assert.Equal("obs-test", e.GetStructuredStateValue("bpf.application"));
        });
        // meta0 is the program's packet count: 6..15 after the first five unlogged runs.
        Assert.Equal(Enumerable.Range(6, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), entries.Select(e => e.GetStructuredStateValue("bpf.meta0")));
        Assert.Equal(10, forwarded.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(new Logging.BpfLogStatistics(10, 10, 0, 0, 0, 0, 0, 0), monitor.LogStatistics);
        Assert.Equal(0, monitor.DrainLogs());
    }

    [Fact]
    public void A_full_ring_counts_lost_records_and_nothing_disappears()
    {
        using var prog = new ReferenceProgram(versionId: 9);
        var monitor = NewMonitor();
        using var lost = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RingBufferLostRecords);
        using var registration = monitor.Register(new MonitoredProgram { Identity = Id("9"), VersionId = 9, StatsMap = prog.Stats, LogRing = prog.Logs });
        prog.SetConfig("log_sample_percent", 100);

        // 2000 records of 312 ring bytes each do not fit in 256 KiB without a reader in between.
        prog.Run(2000);
        _time.Advance(TimeSpan.FromSeconds(10));
        var obs = Assert.Single(monitor.Poll());
        var drained = monitor.DrainLogs(maxPerRing: int.MaxValue);
        Assert.True(obs.Version.lost_logs > 0, "the ring should have overflowed");
        Assert.Equal(2000, drained + (long)obs.Version.lost_logs);
        Assert.Equal((long)obs.Version.lost_logs, lost.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Contains(_logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("were lost", StringComparison.Ordinal));
    }

    [Fact]
    public void Candidate_with_errors_is_judged_unhealthy_against_its_baseline()
    {
        using var baseline = new ReferenceProgram(versionId: 1);
        using var candidate = new ReferenceProgram(versionId: 2, errorEvery: 20); // 5% errors
        var monitor = NewMonitor();
        using var rb = monitor.Register(new MonitoredProgram { Identity = Id("1"), VersionId = 1, Program = baseline.Program, StatsMap = baseline.Stats });
        using var rc = monitor.Register(new MonitoredProgram { Identity = Id("2"), VersionId = 2, Program = candidate.Program, StatsMap = candidate.Stats });

        baseline.Run(200);
        candidate.Run(200);
        _time.Advance(TimeSpan.FromSeconds(5));
        monitor.Poll();
        Assert.Equal(HealthVerdict.InsufficientEvidence, monitor.Evaluate(Id("2"), Id("1")).Verdict); // 5 s < 10 s

        baseline.Run(200);
        candidate.Run(200);
        _time.Advance(TimeSpan.FromSeconds(5));
        monitor.Poll();
        var report = monitor.Evaluate(Id("2"), Id("1"));
        Assert.Equal(HealthVerdict.Unhealthy, report.Verdict);
        var errorRate = report.Rules.Single(r => r.Rule == HealthRules.ErrorRate);
        Assert.False(errorRate.Passed);
        Assert.Equal(0.05, errorRate.Observed, 9);
        Assert.Equal("error rate 5% (20 of 400 runs) > 1%", errorRate.Explanation);
        Assert.False(report.Rules.Single(r => r.Rule == HealthRules.ErrorRateVsBaseline).Passed);
        Assert.Equal(400, report.Baseline!.Value.Runs);
        Assert.Equal(0, report.Baseline!.Value.Errors);
        Assert.Equal(HealthVerdict.Healthy, monitor.Evaluate(Id("1")).Verdict);
    }

    [Fact]
    public void Dispatcher_slot_counters_give_runs_and_missed_tail_calls()
    {
        var counters = Track(Bpf.MapCreate(new BpfMapSpec("bpflc_disp_t", BpfMapType.PerCpuArray, 4, 16, 4)));
        var monitor = NewMonitor();
        using var registration = monitor.Register(new MonitoredProgram { Identity = Id("slot1"), Dispatcher = new DispatcherSlot(counters, 1) });

        // Write what a dispatcher would have counted on each CPU for slot 1.
        var cpus = Bpf.PossibleCpuCount;
        var values = new BpfLcDispatchCounters[cpus];
        for (var c = 0; c < cpus; c++)
        {
            values[c] = new BpfLcDispatchCounters { picks = 100 + (ulong)c, missed_tail_calls = c == 0 ? 3ul : 0ul };
        }

        var slot = 1u;
        Bpf.MapUpdate(counters, MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in slot)), MemoryMarshal.AsBytes(values.AsSpan()));
        _time.Advance(TimeSpan.FromSeconds(30));
        var obs = Assert.Single(monitor.Poll());
        var picks = 100L * cpus + (long)cpus * (cpus - 1) / 2;
        Assert.Equal((ulong)picks, obs.Dispatcher.picks);
        Assert.Equal(picks, obs.Sample.Runs);
        Assert.Equal(3, obs.Sample.MissedTailCalls);
        var report = monitor.Evaluate(Id("slot1"));
        var missed = report.Rules.Single(r => r.Rule == HealthRules.MissedTailCalls);
        Assert.False(missed.Passed);
        Assert.Equal(AlertSeverity.Critical, missed.Severity);
    }

    [Fact]
    public void Registration_rejects_maps_of_the_wrong_layout_and_duplicates()
    {
        using var prog = new ReferenceProgram(versionId: 3);
        var monitor = NewMonitor();
        var ex = Assert.Throws<ArgumentException>(() => monitor.Register(new MonitoredProgram { Identity = Id("3"), StatsMap = prog.Packets }));
        Assert.Contains("cannot be read as bpflc_stats", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Array map with key 4 and value 8", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => monitor.Register(new MonitoredProgram { Identity = Id("3"), Dispatcher = new DispatcherSlot(prog.Stats, 0) }));
        Assert.Throws<ArgumentException>(() => monitor.Register(new MonitoredProgram { Identity = new ProgramIdentity("a", "", "1") }));
        using var r = monitor.Register(new MonitoredProgram { Identity = Id("3"), StatsMap = prog.Stats });
        Assert.Throws<InvalidOperationException>(() => monitor.Register(new MonitoredProgram { Identity = Id("3"), StatsMap = prog.Stats }));
    }
}
