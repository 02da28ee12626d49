// Alerts: failed rules become alerts with their severity, repeats are deduplicated and the rate is limited on a
// fake clock, failing sinks do not stop the others, and the logger sink writes structured entries.
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Observability.Tests;

public sealed class AlertTests
{
    private static readonly ProgramIdentity Prog = new("shop", "filter", "v2", "xdp/eth9");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));

    internal sealed class RecordingSink : IAlertSink
    {
        private readonly List<Alert> _alerts = new();

        // A snapshot: the hosted loop delivers on the thread pool while a test reads.
        public List<Alert> Alerts
        {
            get
            {
                lock (_alerts)
                {
                    return _alerts.ToList();
                }
            }
        }

        public string Name => "recording";

        public ValueTask SendAsync(Alert alert, CancellationToken cancellationToken)
        {
            lock (_alerts)
            {
                _alerts.Add(alert);
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class FailingSink : IAlertSink
    {
        public string Name => "failing";
        public ValueTask SendAsync(Alert alert, CancellationToken cancellationToken) => throw new InvalidOperationException("channel down");
    }

    private Alert NewAlert(string rule = HealthRules.ErrorRate, AlertSeverity severity = AlertSeverity.Critical, ProgramIdentity? p = null)
        => new(p ?? Prog, rule, severity, "error rate 5% > 1%", 0.05, 0.01, _time.GetUtcNow());

    [Fact]
    public async Task Failed_rules_of_a_report_become_alerts_with_their_severities()
    {
        var sink = new RecordingSink();
        var publisher = new AlertPublisher([sink], new AlertOptions(), _time);
        var evaluator = new HealthEvaluator(new HealthRuleOptions(), _time);
        var report = evaluator.Evaluate(new HealthSample(10_000, 500, 10_000 * 2_000_000L, 3, 0.01, 0, TimeSpan.FromSeconds(60)), null);
        var delivered = await publisher.PublishAsync(report, Prog, TestContext.Current.CancellationToken);
        Assert.Equal(3, delivered);
        Assert.Equal(
            [(HealthRules.ErrorRate, AlertSeverity.Critical), (HealthRules.MeanDuration, AlertSeverity.Warning), (HealthRules.MissedTailCalls, AlertSeverity.Critical)],
            sink.Alerts.Select(a => (a.Rule, a.Severity)));
        Assert.All(sink.Alerts, a => Assert.Equal(Prog, a.Program));
        Assert.Equal(0.05, sink.Alerts[0].Observed);
        Assert.StartsWith("[CRITICAL] shop/filter@v2 (xdp/eth9) error-rate: error rate 5%", sink.Alerts[0].Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Insufficient_evidence_raises_nothing()
    {
        var sink = new RecordingSink();
        var publisher = new AlertPublisher([sink], new AlertOptions(), _time);
        var report = new HealthEvaluator(new HealthRuleOptions(), _time).Evaluate(new HealthSample(5, 5, 5, 5, 1, 0, TimeSpan.FromSeconds(1)), null);
        Assert.Equal(0, await publisher.PublishAsync(report, Prog, TestContext.Current.CancellationToken));
        Assert.Empty(sink.Alerts);
    }

    [Fact]
    public async Task Repeats_are_deduplicated_until_the_window_passes_then_carry_the_suppressed_count()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = new RecordingSink();
        var publisher = new AlertPublisher([sink], new AlertOptions { DeduplicationWindow = TimeSpan.FromMinutes(5) }, _time);
        Assert.Equal(AlertOutcome.Delivered, await publisher.PublishAsync(NewAlert(), ct));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(AlertOutcome.Deduplicated, await publisher.PublishAsync(NewAlert(), ct));
        _time.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(AlertOutcome.Deduplicated, await publisher.PublishAsync(NewAlert(), ct));
        // A different rule, severity or version is a different alert.
        Assert.Equal(AlertOutcome.Delivered, await publisher.PublishAsync(NewAlert(rule: HealthRules.CpuOverhead), ct));
        Assert.Equal(AlertOutcome.Delivered, await publisher.PublishAsync(NewAlert(severity: AlertSeverity.Warning), ct));
        Assert.Equal(AlertOutcome.Delivered, await publisher.PublishAsync(NewAlert(p: Prog with { Version = "v3" }), ct));
        _time.Advance(TimeSpan.FromMinutes(1)); // 5 min after the first delivery
        Assert.Equal(AlertOutcome.Delivered, await publisher.PublishAsync(NewAlert(), ct));
        Assert.Equal(2, sink.Alerts[^1].SuppressedCount);
        Assert.Contains("(repeated 2 more times)", sink.Alerts[^1].Summary, StringComparison.Ordinal);
        Assert.Equal(new AlertStatistics(5, 2, 0, 0, 0), publisher.Statistics);
    }

    [Fact]
    public async Task Rate_limit_caps_deliveries_per_period()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = new RecordingSink();
        var publisher = new AlertPublisher([sink], new AlertOptions { MaxAlertsPerPeriod = 3, RateLimitPeriod = TimeSpan.FromMinutes(1) }, _time);
        for (var i = 0; i < 5; i++)
        {
            await publisher.PublishAsync(NewAlert(p: Prog with { Version = "v" + i }), ct);
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.Equal(3, sink.Alerts.Count);
        Assert.Equal(2, publisher.Statistics.RateLimited);
        _time.Advance(TimeSpan.FromSeconds(15)); // 65 s after the first delivery (t=0), 55 s after the second: one slot free
        Assert.Equal(AlertOutcome.Delivered, await publisher.PublishAsync(NewAlert(p: Prog with { Version = "v9" }), ct));
        Assert.Equal(AlertOutcome.RateLimited, await publisher.PublishAsync(NewAlert(p: Prog with { Version = "v10" }), ct));
    }

    [Fact]
    public async Task Minimum_severity_filters_and_a_failing_sink_does_not_block_the_others()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = new RecordingSink();
        var logger = new FakeLogger<AlertPublisher>();
        var publisher = new AlertPublisher([new FailingSink(), sink], new AlertOptions { MinimumSeverity = AlertSeverity.Warning }, _time, logger);
        Assert.Equal(AlertOutcome.BelowMinimumSeverity, await publisher.PublishAsync(NewAlert(severity: AlertSeverity.Info), ct));
        Assert.Equal(AlertOutcome.Delivered, await publisher.PublishAsync(NewAlert(), ct));
        Assert.Single(sink.Alerts);
        Assert.Equal(1, publisher.Statistics.SinkFailures);
        var log = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, log.Level);
        Assert.Contains("failing", log.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logger_sink_maps_severity_to_level_with_structured_state()
    {
        var logger = new FakeLogger<LoggerAlertSink>();
        var sink = new LoggerAlertSink(logger);
        await sink.SendAsync(NewAlert(), TestContext.Current.CancellationToken);
        await sink.SendAsync(NewAlert(severity: AlertSeverity.Warning), TestContext.Current.CancellationToken);
        await sink.SendAsync(NewAlert(severity: AlertSeverity.Info), TestContext.Current.CancellationToken);
        var entries = logger.Collector.GetSnapshot();
        Assert.Equal([LogLevel.Critical, LogLevel.Warning, LogLevel.Information], entries.Select(e => e.Level));
        var state = entries[0].StructuredState!.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("error-rate", state["Rule"]);
        Assert.Equal("critical", state["Severity"]);
        Assert.Equal("filter", state["Program"]);
        Assert.Equal("v2", state["Version"]);
    }

    [Fact]
    public void Invalid_alert_options_are_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => new AlertPublisher([], new AlertOptions { MaxAlertsPerPeriod = 0, RateLimitPeriod = TimeSpan.Zero }, _time));
        Assert.Contains("Alerts.MaxAlertsPerPeriod", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Alerts.RateLimitPeriod", ex.Message, StringComparison.Ordinal);
    }
}
