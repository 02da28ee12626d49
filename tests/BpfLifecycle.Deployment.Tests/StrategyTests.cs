// Strategy logic without the kernel: a recording RolloutContext and FakeTimeProvider check the order of
// switches, canary steps and observations, the decisions and their reasons, and option validation.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Health;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Deployment.Tests;

public sealed class StrategyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Canary_walks_its_steps_observing_each_then_promotes()
    {
        var ctx = new RecordingContext(_ => Healthy());
        var d = await RolloutStrategy.Canary(new() { StepsBasisPoints = [100, 1_000, 10_000], StepObservation = TimeSpan.FromSeconds(5) }).ExecuteAsync(ctx, Ct);

        Assert.True(d.Promote, d.Reason);
        Assert.Equal(["vectors", "share 100", "observe 5s", "share 1000", "observe 5s", "share 10000", "observe 5s"], ctx.Calls);
        Assert.Contains("1% -> 10% -> 100%", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Canary_rolls_back_at_the_first_unhealthy_step_with_the_evidence()
    {
        var ctx = new RecordingContext(n => n == 2 ? Unhealthy() : Healthy());
        var d = await RolloutStrategy.Canary(new() { StepsBasisPoints = [100, 1_000, 10_000], StepObservation = TimeSpan.FromSeconds(1), RunTestVectors = false }).ExecuteAsync(ctx, Ct);

        Assert.False(d.Promote);
        Assert.StartsWith("canary at 10% unhealthy", d.Reason, StringComparison.Ordinal);
        Assert.Equal(HealthVerdict.Unhealthy, d.Evidence!.Verdict);
        Assert.DoesNotContain("share 10000", ctx.Calls);
    }

    [Fact]
    public async Task Blue_green_with_failing_vectors_never_switches()
    {
        var ctx = new RecordingContext(_ => Healthy()) { VectorsPass = false };
        var d = await RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromSeconds(1) }).ExecuteAsync(ctx, Ct);

        Assert.False(d.Promote);
        Assert.Equal(["vectors"], ctx.Calls);
        Assert.Contains("returned 1, expected 2", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blue_green_switches_then_observes_its_window()
    {
        var ctx = new RecordingContext(_ => Healthy());
        var d = await RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromSeconds(30) }).ExecuteAsync(ctx, Ct);

        Assert.True(d.Promote);
        Assert.Equal(["vectors", "route Candidate", "observe 30s"], ctx.Calls);
    }

    [Fact]
    public async Task Insufficient_evidence_promotes_by_default_and_rolls_back_when_evidence_is_required()
    {
        var lenient = await RolloutStrategy.Immediate(new() { ObservationWindow = TimeSpan.FromSeconds(1) }).ExecuteAsync(new RecordingContext(_ => Report(HealthVerdict.InsufficientEvidence)), Ct);
        var strict = await RolloutStrategy.Immediate(new() { ObservationWindow = TimeSpan.FromSeconds(1), RequireEvidence = true }).ExecuteAsync(new RecordingContext(_ => Report(HealthVerdict.InsufficientEvidence)), Ct);

        Assert.True(lenient.Promote);
        Assert.StartsWith("promoted with too little evidence to judge", lenient.Reason, StringComparison.Ordinal);
        Assert.False(strict.Promote);
    }

    [Fact]
    public async Task A_promotion_without_enough_evidence_says_so_and_names_the_steps()
    {
        var canary = await RolloutStrategy.Canary(new() { StepsBasisPoints = [100, 1_000, 10_000], StepObservation = TimeSpan.FromSeconds(1), RunTestVectors = false })
            .ExecuteAsync(new RecordingContext(n => n == 2 ? Healthy() : Report(HealthVerdict.InsufficientEvidence)), Ct);
        var judged = await RolloutStrategy.Canary(new() { StepsBasisPoints = [100, 10_000], StepObservation = TimeSpan.FromSeconds(1), RunTestVectors = false })
            .ExecuteAsync(new RecordingContext(_ => Healthy()), Ct);
        var green = await RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.FromSeconds(2), RunTestVectors = false })
            .ExecuteAsync(new RecordingContext(_ => Report(HealthVerdict.InsufficientEvidence)), Ct);

        Assert.True(canary.Promote);
        Assert.Equal("canary promoted through every step (1% -> 10% -> 100%); too little evidence to judge at 1%, 100% (RequireEvidence rolls back instead)", canary.Reason);
        Assert.Equal("canary healthy at every step (1% -> 100%)", judged.Reason);
        Assert.True(green.Promote);
        Assert.StartsWith("green promoted with too little evidence to judge (RequireEvidence rolls back instead) over 2 s", green.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Immediate_without_a_window_switches_and_promotes_without_observing()
    {
        var ctx = new RecordingContext(_ => Unhealthy());
        var d = await RolloutStrategy.Immediate().ExecuteAsync(ctx, Ct);
        Assert.True(d.Promote);
        Assert.Equal(["route Candidate"], ctx.Calls);
    }

    [Fact]
    public async Task Context_delays_run_on_the_time_provider()
    {
        var time = new FakeTimeProvider();
        var ctx = new RecordingContext(_ => Healthy(), time);
        var delay = ctx.DelayAsync(TimeSpan.FromMinutes(10), Ct);
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(delay.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(1));
        await delay;
    }

    [Theory]
    [InlineData(new[] { 100, 50 }, "must increase")]
    [InlineData(new[] { 0 }, "outside 1..10000")]
    [InlineData(new[] { 20_000 }, "outside 1..10000")]
    public void Canary_options_are_validated_with_the_field_named(int[] steps, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => RolloutStrategy.Canary(new() { StepsBasisPoints = steps }));
        Assert.Contains("StepsBasisPoints", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blue_green_options_reject_a_non_positive_window()
    {
        var e = Assert.Throws<ArgumentException>(() => RolloutStrategy.BlueGreen(new() { ObservationWindow = TimeSpan.Zero }));
        Assert.Contains("ObservationWindow", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Threshold_evaluator_names_the_figures()
    {
        var eval = new ThresholdHealthEvaluator(new ThresholdHealthOptions { MinimumRuns = 10, MaxErrorRate = 0.01 });
        var bad = eval.Evaluate(new HealthSample(200, 10, 0, 0, 0, 0, TimeSpan.FromSeconds(1)), null);
        var few = eval.Evaluate(new HealthSample(5, 0, 0, 0, 0, 0, TimeSpan.FromSeconds(1)), null);
        var missed = eval.Evaluate(new HealthSample(100, 0, 0, 3, 0, 0, TimeSpan.FromSeconds(1)), null);
        var good = eval.Evaluate(new HealthSample(100, 1, 0, 0, 0, 0, TimeSpan.FromSeconds(1)), null);

        Assert.Equal(HealthVerdict.Unhealthy, bad.Verdict);
        Assert.Contains("error rate 5% (10 of 200 runs) > 1%", bad.Failures.Single().Explanation, StringComparison.Ordinal);
        Assert.Equal(HealthVerdict.InsufficientEvidence, few.Verdict);
        Assert.Equal("missed-tail-calls", missed.Failures.Single().Rule);
        Assert.Equal(HealthVerdict.Healthy, good.Verdict);
    }

    [Fact]
    public void Rollout_rules_from_a_monitors_thresholds_keep_its_figures_and_take_a_rollouts_evidence()
    {
        var monitor = new HealthRuleOptions { MaxErrorRate = 0.2, MaxMissedTailCalls = 2, MinimumRuns = 100, MinimumWindow = TimeSpan.FromSeconds(30) };
        monitor.Severities[HealthRules.LatencyVsBaseline] = AlertSeverity.Critical;
        var rules = RolloutHealthRules.CreateOptions(monitor, minimumRuns: 7);

        Assert.Equal((0.2, 2L, 7L, TimeSpan.Zero, true), (rules.MaxErrorRate, rules.MaxMissedTailCalls, rules.MinimumRuns, rules.MinimumWindow, rules.JudgeCriticalRulesBeforeEvidence));
        Assert.Equal(AlertSeverity.Critical, rules.Severities[HealthRules.LatencyVsBaseline]);
        Assert.Equal(100, monitor.MinimumRuns);

        var eval = new HealthEvaluator(rules);
        Assert.Equal(HealthVerdict.Healthy, eval.Evaluate(new HealthSample(10, 1, 0, 0, 0, 0, TimeSpan.FromSeconds(1)), null).Verdict);
        Assert.Equal(HealthVerdict.InsufficientEvidence, eval.Evaluate(new HealthSample(6, 0, 0, 0, 0, 0, TimeSpan.FromSeconds(1)), null).Verdict);
        Assert.Equal(HealthVerdict.Unhealthy, eval.Evaluate(new HealthSample(5, 3, 0, 0, 0, 0, TimeSpan.FromSeconds(1)), null).Verdict);
        Assert.Throws<ArgumentOutOfRangeException>(() => RolloutHealthRules.CreateOptions(monitor, minimumRuns: 0));
    }

    [Fact]
    public void Threshold_evaluator_is_a_preset_of_the_observability_rules()
    {
        var options = new ThresholdHealthOptions { MinimumRuns = 10, MaxErrorRate = 0.02, MaxMissedTailCalls = 1 };
        var preset = new ThresholdHealthEvaluator(options);
        var rules = new HealthEvaluator(options.ToRuleOptions());

        // Slow, CPU-hungry and far worse than the baseline on latency: reported, but only the two thresholds decide.
        var slow = new HealthSample(100, 0, 100 * 5_000_000L, 1, 0.5, 0, TimeSpan.FromSeconds(1));
        var baseline = new HealthSample(100, 0, 100 * 1_000L, 0, 0.001, 0, TimeSpan.FromSeconds(1));
        var report = preset.Evaluate(slow, baseline);
        Assert.Equal(HealthVerdict.Healthy, report.Verdict);
        Assert.Equal(HealthRules.All, report.Rules.Select(r => r.Rule));
        Assert.Equal([HealthRules.MeanDuration, HealthRules.LatencyVsBaseline, HealthRules.CpuOverhead], report.Failures.Select(f => f.Rule));
        Assert.All(report.Failures, f => Assert.Equal(AlertSeverity.Info, f.Severity));
        Assert.Equal(rules.Evaluate(slow, baseline).Rules, report.Rules);

        // Errors before the minimum runs are in already prove harm.
        var early = preset.Evaluate(new HealthSample(6, 5, 0, 0, 0, 0, TimeSpan.FromMilliseconds(50)), null);
        Assert.Equal(HealthVerdict.Unhealthy, early.Verdict);
        Assert.Contains(early.Failures, f => f.Rule == HealthRules.ErrorRate && f.Severity == AlertSeverity.Critical);
        Assert.Contains(early.Failures, f => f.Rule == HealthRules.Evidence);

        var e = Assert.Throws<ArgumentException>(() => new ThresholdHealthEvaluator(new ThresholdHealthOptions { MaxErrorRate = 1.5 }));
        Assert.Contains("MaxErrorRate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rollout_default_rules_judge_short_windows()
    {
        var o = RolloutHealthRules.CreateOptions();
        Assert.Empty(o.Validate());
        var eval = RolloutHealthRules.CreateEvaluator();

        // A 100 ms canary step with 20 clean runs is enough for a verdict.
        var clean = eval.Evaluate(new HealthSample(20, 0, 20 * 500L, 0, 0.0001, 0, TimeSpan.FromMilliseconds(100)), new HealthSample(180, 0, 180 * 500L, 0, 0.0001, 0, TimeSpan.FromMilliseconds(100)));
        Assert.Equal(HealthVerdict.Healthy, clean.Verdict);

        // 2 errors in 10 runs: too few runs to call it healthy, enough to call it harmful.
        var faulty = eval.Evaluate(new HealthSample(10, 2, 0, 0, 0, 0, TimeSpan.FromMilliseconds(100)), null);
        Assert.Equal(HealthVerdict.Unhealthy, faulty.Verdict);

        var quiet = eval.Evaluate(new HealthSample(3, 0, 0, 0, 0, 0, TimeSpan.FromMilliseconds(100)), null);
        Assert.Equal(HealthVerdict.InsufficientEvidence, quiet.Verdict);

        // Each call hands out its own copy.
        o.MinimumRuns = 1_000;
        Assert.Equal(RolloutHealthRules.DefaultMinimumRuns, RolloutHealthRules.CreateOptions().MinimumRuns);
    }

    private static HealthReport Report(HealthVerdict v) => new(v, v == HealthVerdict.Unhealthy ? [new HealthRuleResult("error-rate", false, 0.5, 0.01, AlertSeverity.Critical, "error rate 50% > 1%")] : [], default, null, DateTimeOffset.UnixEpoch);

    private static HealthReport Healthy() => Report(HealthVerdict.Healthy);

    private static HealthReport Unhealthy() => Report(HealthVerdict.Unhealthy);

    private sealed class RecordingContext(Func<int, HealthReport> observe, TimeProvider? time = null) : RolloutContext
    {
        private int _observations;

        public List<string> Calls { get; } = [];

        public bool VectorsPass { get; init; } = true;

        public override string Application => "test";

        public override VersionRecord Candidate { get; } = new() { Id = 2, Name = "x", Label = "2", ArtifactSha256 = new string('a', 64), Program = "p", DeployedAt = DateTimeOffset.UnixEpoch };

        public override VersionRecord? Baseline { get; } = new() { Id = 1, Name = "x", Label = "1", ArtifactSha256 = new string('b', 64), Program = "p", DeployedAt = DateTimeOffset.UnixEpoch };

        public override IReadOnlyList<AttachPoint> AttachPoints { get; } = [AttachPoint.Parse("xdp:eth9")];

        public override TimeProvider TimeProvider { get; } = time ?? new FakeTimeProvider();

        public override int CanaryBasisPoints => 0;

        public override ValueTask RouteAllAsync(RolloutTarget target, CancellationToken cancellationToken)
        {
            Calls.Add($"route {target}");
            return ValueTask.CompletedTask;
        }

        public override ValueTask RouteAsync(AttachPoint attachPoint, RolloutTarget target, CancellationToken cancellationToken)
        {
            Calls.Add($"route {attachPoint} {target}");
            return ValueTask.CompletedTask;
        }

        public override ValueTask SetCanaryShareAsync(int basisPoints, CancellationToken cancellationToken)
        {
            Calls.Add($"share {basisPoints}");
            return ValueTask.CompletedTask;
        }

        public override ValueTask<HealthReport> ObserveAsync(TimeSpan window, CancellationToken cancellationToken)
        {
            Calls.Add($"observe {window.TotalSeconds}s");
            return ValueTask.FromResult(observe(++_observations));
        }

        public override ValueTask<TestVectorReport> RunTestVectorsAsync(CancellationToken cancellationToken)
        {
            Calls.Add("vectors");
            return ValueTask.FromResult(new TestVectorReport(true, [new TestVectorResult("v", 2, VectorsPass ? 2 : 1, 10)]));
        }

        public override void Report(RolloutEventKind kind, string message, HealthReport? health = null)
        {
        }
    }
}
