// Meters: names, units and tags as MetricCollector sees them, instruments created once per meter, and the same
// instruments exported unchanged through the OpenTelemetry SDK.
using System.Diagnostics.Metrics;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace BpfLifecycle.Observability.Tests;

public sealed class MetricsTests : IDisposable
{
    private static readonly ProgramIdentity Prog = new("shop", "filter", "42", "xdp/veth1");
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private IMeterFactory Factory => _services.GetRequiredService<IMeterFactory>();

    private static readonly HealthSample Window = new(Runs: 1000, Errors: 7, TotalNanoseconds: 250_000, MissedTailCalls: 2, CpuShare: 0.0125, MapMemoryBytes: 6160, Window: TimeSpan.FromSeconds(10));

    [Fact]
    public void Window_is_recorded_with_units_and_tags()
    {
        var metrics = new BpfLifecycleMetrics(Factory);
        using var runs = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.Runs);
        using var errors = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.Errors);
        using var duration = new MetricCollector<double>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RunDuration);
        using var runTime = new MetricCollector<double>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RunTime);
        using var cpu = new MetricCollector<double>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.CpuUtilization);
        using var memory = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.MapMemory);
        using var missed = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.MissedTailCalls);
        using var recursion = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RecursionMisses);

        metrics.RecordWindow(Prog, Window, recursionMisses: 3);
        metrics.RecordWindow(Prog, Window with { Errors = 0 });

        Assert.Equal(2000, runs.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(7, errors.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(250e-9, duration.LastMeasurement!.Value, 15);
        Assert.Equal("s", duration.Instrument!.Unit);
        Assert.Equal(500e-6, runTime.GetMeasurementSnapshot().EvaluateAsCounter(), 12);
        Assert.Equal(0.0125, cpu.LastMeasurement!.Value);
        Assert.Equal("1", cpu.Instrument!.Unit);
        Assert.Equal(6160, memory.LastMeasurement!.Value);
        Assert.Equal("By", memory.Instrument!.Unit);
        Assert.Equal(4, missed.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(3, recursion.GetMeasurementSnapshot().EvaluateAsCounter());
        var tags = runs.LastMeasurement!.Tags;
        Assert.Equal("shop", tags[BpfLifecycleMetrics.ApplicationTag]);
        Assert.Equal("filter", tags[BpfLifecycleMetrics.ProgramTag]);
        Assert.Equal("42", tags[BpfLifecycleMetrics.VersionTag]);
        Assert.Equal("xdp/veth1", tags[BpfLifecycleMetrics.AttachPointTag]);
    }

    [Fact]
    public void Rollouts_rollbacks_and_ring_buffer_records_are_counted()
    {
        var metrics = new BpfLifecycleMetrics(Factory);
        using var rollouts = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.Rollouts);
        using var rollbacks = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.Rollbacks);
        using var records = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RingBufferRecords);
        using var lost = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RingBufferLostRecords);
        using var malformed = new MetricCollector<long>(Factory, BpfLifecycleMetrics.MeterName, BpfLifecycleMetrics.Names.RingBufferMalformedRecords);

        metrics.RecordRollout(Prog, "canary");
        metrics.RecordRollback(Prog, "error-rate");
        metrics.RecordLogRecords(Prog, forwarded: 10, lost: 2, malformed: 1);
        metrics.RecordLogRecords(Prog, forwarded: 5);

        Assert.Equal(1, rollouts.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal("canary", rollouts.LastMeasurement!.Tags[BpfLifecycleMetrics.StrategyTag]);
        Assert.Equal("error-rate", rollbacks.LastMeasurement!.Tags[BpfLifecycleMetrics.ReasonTag]);
        Assert.Equal(15, records.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(2, lost.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(1, malformed.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public void Every_instrument_is_lowercase_dotted_with_a_unit_on_one_meter()
    {
        var seen = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == BpfLifecycleMetrics.MeterName)
                {
                    seen.Add(i);
                }
            },
        };
        listener.Start();
        var metrics = new BpfLifecycleMetrics(Factory);
        seen.RemoveAll(i => i.Meter != metrics.Meter); // meters of other, still undisposed factories have the same name
        Assert.Equal(14, seen.Count);
        Assert.All(seen, i =>
        {
            Assert.Matches("^bpflifecycle(\\.[a-z_]+)+$", i.Name);
            Assert.False(string.IsNullOrEmpty(i.Unit), i.Name);
            Assert.False(string.IsNullOrEmpty(i.Description), i.Name);
        });
        Assert.Single(seen.Select(i => i.Meter).Distinct());
    }

    [Fact]
    public void OpenTelemetry_exports_the_instruments_unchanged()
    {
        var exported = new List<Metric>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(BpfLifecycleMetrics.MeterName).AddInMemoryExporter(exported).Build();
        var metrics = new BpfLifecycleMetrics(Factory);
        metrics.RecordWindow(Prog, Window);
        metrics.RecordWindow(Prog, Window);
        metrics.RecordRollout(Prog, "blue-green");
        Assert.True(provider.ForceFlush());

        var runs = exported.Single(m => m.Name == BpfLifecycleMetrics.Names.Runs);
        Assert.Equal("{run}", runs.Unit);
        Assert.Equal(BpfLifecycleMetrics.MeterName, runs.MeterName);
        Assert.Equal(MetricType.LongSum, runs.MetricType);
        long total = 0;
        foreach (ref readonly var point in runs.GetMetricPoints())
        {
            total += point.GetSumLong();
            var tags = new Dictionary<string, object?>();
            foreach (var tag in point.Tags)
            {
                tags[tag.Key] = tag.Value;
            }

            Assert.Equal("filter", tags[BpfLifecycleMetrics.ProgramTag]);
            Assert.Equal("42", tags[BpfLifecycleMetrics.VersionTag]);
        }

        Assert.Equal(2000, total);
        var duration = exported.Single(m => m.Name == BpfLifecycleMetrics.Names.RunDuration);
        Assert.Equal(MetricType.Histogram, duration.MetricType);
        Assert.Equal("s", duration.Unit);
        foreach (ref readonly var point in duration.GetMetricPoints())
        {
            Assert.Equal(2, point.GetHistogramCount());
            Assert.Equal(500e-9, point.GetHistogramSum(), 15);
        }

        var cpu = exported.Single(m => m.Name == BpfLifecycleMetrics.Names.CpuUtilization);
        Assert.Equal(MetricType.DoubleGauge, cpu.MetricType);
        Assert.Contains(exported, m => m.Name == BpfLifecycleMetrics.Names.Rollouts);
        Assert.Contains(exported, m => m.Name == BpfLifecycleMetrics.Names.MapMemory && m.Unit == "By");
    }

    public void Dispose() => _services.Dispose();
}
