// obs_levels.o (bpf/src/obs_levels.c) logs one record of every level per run: each reaches ILogger at its mapped
// level with the version id set in .rodata, and bpflc_count_error() counts without ending a run.
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

public sealed class LogLevelsKernelTests : KernelTestBase
{
    [Fact]
    public void Every_level_macro_reaches_ILogger_at_its_mapped_level()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        using var monitor = new BpfMonitor(new ObservabilityOptions(), new BpfLifecycleMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()), new FakeTimeProvider(), loggerFactory);

        using var file = BpfObjectFile.Open(Repository.BpfObject("obs_levels"));
        file.SetGlobal(BpfLcAbi.VersionIdGlobal, 0xABCDEF0123456789ul);
        using var loaded = file.Load();
        var tag = 99ul;
        var key = BpfLcConfigKey.Create("run_tag");
        Bpf.MapUpdate(loaded.GetMap(BpfLcAbi.ConfigMapName), MemoryMarshal.AsBytes(new ReadOnlySpan<BpfLcConfigKey>(in key)), MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(in tag)));
        var id = new ProgramIdentity("obs-test", "obs_levels", "levels");
        using var registration = monitor.Register(new MonitoredProgram { Identity = id, StatsMap = loaded.GetMap(BpfLcAbi.StatsMapName), LogRing = loaded.GetMap(BpfLcAbi.LogRingMapName) });

        Span<byte> packet = stackalloc byte[64];
        Bpf.TestRun(loaded.GetProgram("obs_levels"), packet, Span<byte>.Empty, 3);
        Assert.Equal(18, monitor.DrainLogs());
        var obs = Assert.Single(monitor.Poll());
        Assert.Equal(3, obs.Sample.Runs);
        Assert.Equal(3, obs.Sample.Errors); // bpflc_count_error() once per run, BPFLC_END(0) adds none

        var entries = logs.GetSnapshot().Where(r => r.Category == BpfMonitor.LogCategory).ToList();
        var expected = new[] { (LogLevel.Trace, "trace record"), (LogLevel.Debug, "debug record"), (LogLevel.Information, "info record"), (LogLevel.Warning, "warn record"), (LogLevel.Error, "error record"), (LogLevel.Critical, "critical record") };
        Assert.Equal(Enumerable.Repeat(expected, 3).SelectMany(x => x), entries.Select(e => (e.Level, e.Message)));
        Assert.All(entries, e =>
        {
            Assert.Equal(0xABCDEF0123456789ul.ToString(System.Globalization.CultureInfo.InvariantCulture), e.GetStructuredStateValue("bpf.version_id"));
            Assert.Equal("99", e.GetStructuredStateValue("bpf.meta0"));
            Assert.Equal("obs_levels", e.GetStructuredStateValue("bpf.program"));
        });
        Assert.Equal(Enumerable.Repeat(new[] { "0", "1", "2", "3", "4", "5" }, 3).SelectMany(x => x), entries.Select(e => e.GetStructuredStateValue("bpf.meta1")));
        Assert.All(entries, e => Assert.Equal(entries[0].GetStructuredStateValue("bpf.cpu"), e.GetStructuredStateValue("bpf.cpu")));
    }
}

public sealed class MalformedRecordsKernelTests : KernelTestBase
{
    [Fact]
    public void Malformed_records_from_a_program_are_counted_reported_and_never_thrown()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        using var monitor = new BpfMonitor(new ObservabilityOptions(), new BpfLifecycleMetrics(factory), new FakeTimeProvider(), loggerFactory);
        using var malformedMeter = new MetricCollector<long>(factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RingBufferMalformedRecords);
        using var forwardedMeter = new MetricCollector<long>(factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RingBufferRecords);

        using var file = BpfObjectFile.Open(Repository.BpfObject("obs_levels"));
        using var loaded = file.Load();
        var one = 1ul;
        var key = BpfLcConfigKey.Create("emit_malformed");
        Bpf.MapUpdate(loaded.GetMap(BpfLcAbi.ConfigMapName), MemoryMarshal.AsBytes(new ReadOnlySpan<BpfLcConfigKey>(in key)), MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(in one)));
        using var registration = monitor.Register(new MonitoredProgram { Identity = new ProgramIdentity("obs-test", "obs_levels", "bad"), LogRing = loaded.GetMap(BpfLcAbi.LogRingMapName) });

        Span<byte> packet = stackalloc byte[64];
        Bpf.TestRun(loaded.GetProgram("obs_levels"), packet, Span<byte>.Empty, 4);
        Assert.Equal(32, monitor.DrainLogs());
        Assert.Equal(new Logging.BpfLogStatistics(Received: 32, Forwarded: 24, Malformed: 8, TooShort: 4, BadMagic: 0, BadLevel: 4, MessageTooLong: 0, Truncated: 0), monitor.LogStatistics);
        Assert.Equal(8, malformedMeter.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(24, forwardedMeter.GetMeasurementSnapshot().EvaluateAsCounter());

        monitor.Poll(); // reports what was rejected since the previous poll
        var warning = Assert.Single(logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("malformed", StringComparison.Ordinal));
        Assert.Equal("8", warning.GetStructuredStateValue("Count"));
        monitor.Poll(); // nothing new: no second warning
        Assert.Single(logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("malformed", StringComparison.Ordinal));
    }
}
