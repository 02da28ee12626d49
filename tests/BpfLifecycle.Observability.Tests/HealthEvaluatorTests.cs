// Health rules: defaults, evidence minimums, baseline comparisons, severities and verdicts, and sliding windows
// driven by a fake clock.
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Observability.Tests;

public sealed class HealthEvaluatorTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));

    private static HealthSample Sample(long runs = 10_000, long errors = 0, double meanNs = 100, long missed = 0, double cpu = 0.001, long memory = 4096, double seconds = 60)
        => new(runs, errors, (long)(runs * meanNs), missed, cpu, memory, TimeSpan.FromSeconds(seconds));

    private HealthEvaluator Evaluator(Action<HealthRuleOptions>? configure = null)
    {
        var o = new HealthRuleOptions();
        configure?.Invoke(o);
        return new HealthEvaluator(o, _time);
    }

    [Fact]
    public void Healthy_sample_passes_every_rule_and_reports_the_numbers()
    {
        var report = Evaluator().Evaluate(Sample(), Sample());
        Assert.Equal(HealthVerdict.Healthy, report.Verdict);
        Assert.Equal(HealthRules.All, report.Rules.Select(r => r.Rule));
        Assert.Empty(report.Failures);
        Assert.Equal(_time.GetUtcNow(), report.EvaluatedAt);
        var mean = report.Rules.Single(r => r.Rule == HealthRules.MeanDuration);
        Assert.Equal(100, mean.Observed);
        Assert.Equal(1_000_000, mean.Threshold);
        Assert.Equal("mean duration 100 ns over 10000 runs <= 1 ms", mean.Explanation);
        Assert.True(report.Rules.Single(r => r.Rule == HealthRules.MapMemory).Skipped);
    }

    [Theory]
    [InlineData(99, 60)]
    [InlineData(100_000, 29)]
    public void No_verdict_before_the_minimum_evidence(long runs, double seconds)
    {
        // Even a candidate failing every rule gets no verdict until there is enough evidence.
        var report = Evaluator().Evaluate(Sample(runs: runs, errors: runs, meanNs: 1e7, missed: 5, cpu: 0.9, seconds: seconds), null);
        Assert.Equal(HealthVerdict.InsufficientEvidence, report.Verdict);
        var evidence = Assert.Single(report.Rules);
        Assert.Equal(HealthRules.Evidence, evidence.Rule);
        Assert.Contains("needed", evidence.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Critical_rules_judged_before_the_evidence_when_asked()
    {
        var e = Evaluator(o => o.JudgeCriticalRulesBeforeEvidence = true);

        // 5 errors in 6 runs: too few runs for a healthy verdict, enough to prove harm.
        var harmful = e.Evaluate(Sample(runs: 6, errors: 5, seconds: 1), null);
        Assert.Equal(HealthVerdict.Unhealthy, harmful.Verdict);
        Assert.Equal([HealthRules.Evidence, .. HealthRules.All], harmful.Rules.Select(r => r.Rule));
        Assert.Contains(harmful.Failures, f => f.Rule == HealthRules.ErrorRate);

        // A failed warning rule alone (slow) does not make a verdict without the evidence.
        var slow = e.Evaluate(Sample(runs: 6, meanNs: 1e7, seconds: 1), null);
        Assert.Equal(HealthVerdict.InsufficientEvidence, slow.Verdict);
        Assert.Contains(slow.Failures, f => f.Rule == HealthRules.MeanDuration);

        var clean = e.Evaluate(Sample(runs: 6, seconds: 1), null);
        Assert.Equal(HealthVerdict.InsufficientEvidence, clean.Verdict);
        Assert.Equal(HealthRules.Evidence, Assert.Single(clean.Failures).Rule);
    }

    [Fact]
    public void Default_thresholds_fail_just_above_and_pass_at_the_limit()
    {
        var e = Evaluator();
        Assert.True(Rule(e.Evaluate(Sample(runs: 10_000, errors: 100), null), HealthRules.ErrorRate).Passed); // exactly 1%
        var failed = Rule(e.Evaluate(Sample(runs: 10_000, errors: 101), null), HealthRules.ErrorRate);
        Assert.False(failed.Passed);
        Assert.Equal(AlertSeverity.Critical, failed.Severity);
        Assert.Equal("error rate 1.01% (101 of 10000 runs) > 1%", failed.Explanation);

        Assert.True(Rule(e.Evaluate(Sample(meanNs: 1_000_000), null), HealthRules.MeanDuration).Passed);
        Assert.False(Rule(e.Evaluate(Sample(meanNs: 1_000_100), null), HealthRules.MeanDuration).Passed);
        Assert.True(Rule(e.Evaluate(Sample(cpu: 0.05), null), HealthRules.CpuOverhead).Passed);
        Assert.False(Rule(e.Evaluate(Sample(cpu: 0.0501), null), HealthRules.CpuOverhead).Passed);
        Assert.True(Rule(e.Evaluate(Sample(missed: 0), null), HealthRules.MissedTailCalls).Passed);
        var missed = Rule(e.Evaluate(Sample(missed: 1), null), HealthRules.MissedTailCalls);
        Assert.False(missed.Passed);
        Assert.Equal(AlertSeverity.Critical, missed.Severity);
    }

    [Fact]
    public void Candidate_is_compared_with_its_baseline()
    {
        var e = Evaluator();
        var baseline = Sample(runs: 10_000, errors: 50, meanNs: 1000); // 0.5%, 1 us
        var ok = e.Evaluate(Sample(runs: 10_000, errors: 55, meanNs: 1200), baseline); // 1.1x, 1.2x: at the limits
        Assert.True(Rule(ok, HealthRules.ErrorRateVsBaseline).Passed);
        Assert.True(Rule(ok, HealthRules.LatencyVsBaseline).Passed);

        var bad = e.Evaluate(Sample(runs: 10_000, errors: 56, meanNs: 1201), baseline);
        var err = Rule(bad, HealthRules.ErrorRateVsBaseline);
        Assert.False(err.Passed);
        Assert.Equal(1.12, err.Observed, 6);
        Assert.Equal(1.1, err.Threshold);
        Assert.Contains("vs baseline 0.5%", err.Explanation, StringComparison.Ordinal);
        var lat = Rule(bad, HealthRules.LatencyVsBaseline);
        Assert.False(lat.Passed);
        Assert.Equal(AlertSeverity.Warning, lat.Severity);
        Assert.Equal(HealthVerdict.Unhealthy, bad.Verdict);
    }

    [Fact]
    public void Baseline_without_errors_only_fails_a_candidate_above_the_floor()
    {
        var e = Evaluator();
        var baseline = Sample(runs: 10_000, errors: 0);
        Assert.True(Rule(e.Evaluate(Sample(runs: 10_000, errors: 10), baseline), HealthRules.ErrorRateVsBaseline).Passed); // 0.1%
        var r = Rule(e.Evaluate(Sample(runs: 10_000, errors: 11), baseline), HealthRules.ErrorRateVsBaseline);
        Assert.False(r.Passed);
        Assert.True(double.IsPositiveInfinity(r.Observed));
        Assert.Equal("candidate error rate 0.11% vs baseline 0% (the baseline had none) > 1.1x baseline", r.Explanation);
    }

    [Fact]
    public void Baseline_with_too_little_evidence_skips_the_comparisons()
    {
        var report = Evaluator().Evaluate(Sample(meanNs: 5000), Sample(runs: 5, meanNs: 10));
        var lat = Rule(report, HealthRules.LatencyVsBaseline);
        Assert.True(lat.Skipped);
        Assert.True(lat.Passed);
        Assert.Contains("baseline: 5 runs", lat.Explanation, StringComparison.Ordinal);
        Assert.Equal(HealthVerdict.Healthy, report.Verdict);
    }

    [Fact]
    public void Map_memory_budget_and_severity_overrides_shape_the_verdict()
    {
        var e = Evaluator(o =>
        {
            o.MapMemoryBudgetBytes = 4096;
            o.Severities[HealthRules.CpuOverhead] = AlertSeverity.Info;
        });
        Assert.True(Rule(e.Evaluate(Sample(memory: 4096), null), HealthRules.MapMemory).Passed);
        var over = e.Evaluate(Sample(memory: 4097), null);
        Assert.False(Rule(over, HealthRules.MapMemory).Passed);
        Assert.Equal(HealthVerdict.Degraded, over.Verdict);
        // An info rule failing alone leaves the verdict healthy but is still listed as a failure.
        var cpu = e.Evaluate(Sample(cpu: 0.5), null);
        Assert.Equal(HealthVerdict.Healthy, cpu.Verdict);
        Assert.Equal(HealthRules.CpuOverhead, Assert.Single(cpu.Failures).Rule);
        // A program's own budget overrides the default.
        Assert.False(Rule(e.Evaluate(Sample(memory: 3000), null, mapMemoryBudgetBytes: 2048), HealthRules.MapMemory).Passed);
    }

    [Fact]
    public void Invalid_options_are_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => Evaluator(o => { o.MaxErrorRate = 2; o.MinimumRuns = 0; o.Severities["nope"] = AlertSeverity.Info; }));
        Assert.Contains("Health.MaxErrorRate", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Health.MinimumRuns", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unknown rule 'nope'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Window_slides_with_the_clock_and_aggregates_samples()
    {
        var window = new HealthWindow(TimeSpan.FromSeconds(30), _time);
        window.Add(new HealthSample(100, 1, 10_000, 0, 0.02, 1000, TimeSpan.FromSeconds(10)));
        _time.Advance(TimeSpan.FromSeconds(10));
        window.Add(new HealthSample(300, 0, 30_000, 1, 0.06, 2000, TimeSpan.FromSeconds(10)));
        var agg = window.Aggregate();
        Assert.Equal(new HealthSample(400, 1, 40_000, 1, 0.04, 2000, TimeSpan.FromSeconds(20)), agg);

        _time.Advance(TimeSpan.FromSeconds(20)); // the first sample is now 30 s old: out of the window
        agg = window.Aggregate();
        Assert.Equal(300, agg.Runs);
        Assert.Equal(0, agg.Errors);
        Assert.Equal(1, window.Count);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(default(HealthSample), window.Aggregate());
    }

    [Fact]
    public void Evidence_builds_up_across_polls_of_a_window()
    {
        var e = Evaluator();
        var window = new HealthWindow(TimeSpan.FromSeconds(60), _time);
        for (var i = 0; i < 2; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            window.Add(Sample(runs: 1000, errors: 50, seconds: 10));
        }

        Assert.Equal(HealthVerdict.InsufficientEvidence, e.Evaluate(window.Aggregate(), null).Verdict); // 20 s < 30 s
        _time.Advance(TimeSpan.FromSeconds(10));
        window.Add(Sample(runs: 1000, errors: 50, seconds: 10));
        var report = e.Evaluate(window.Aggregate(), null);
        Assert.Equal(HealthVerdict.Unhealthy, report.Verdict);
        Assert.Equal(0.05, Rule(report, HealthRules.ErrorRate).Observed, 9);
    }

    private static HealthRuleResult Rule(HealthReport report, string name) => report.Rules.Single(r => r.Rule == name);
}
