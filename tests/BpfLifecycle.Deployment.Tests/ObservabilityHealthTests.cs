// The deployment manager judged by the Observability layer's health rules, given explicitly or as the manager's own
// default: a faulty canary is rolled back on the error-rate evidence those rules produce, a healthy one promoted.
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Tests;

public sealed class ObservabilityHealthTests : DeploymentTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Faulty_canary_is_rolled_back_by_the_observability_health_rules()
    {
        var rules = new HealthEvaluator(new HealthRuleOptions { MinimumRuns = 20, MinimumWindow = TimeSpan.FromMilliseconds(100) });
        var m = new DeploymentManager(Options, healthEvaluator: rules);
        Defer(() => { m.UndeployAsync().GetAwaiter().GetResult(); m.Dispose(); });
        var first = await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        Assert.True(first.Result == DeploymentResult.Promoted, first.Reason);

        DeploymentOutcome outcome;
        using (new BackgroundTraffic(Net))
        {
            // Without test vectors: whether the vector's packet is an error depends on the shared packet count's
            // parity, and this test is about the health rules stopping the candidate.
            outcome = await m.DeployAsync(MakeArtifact("2.0.0-bad", errorEvery: 2), new DeploymentRequest
            {
                Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [5_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(400), RollBackOnDegraded = true, RunTestVectors = false }),
            }, cancellationToken: Ct);
        }

        Assert.True(outcome.Result == DeploymentResult.RolledBack, outcome.Reason);
        Assert.NotNull(outcome.Evidence);
        Assert.Contains(outcome.Evidence!.Failures, f => f.Rule == HealthRules.ErrorRate);
        Assert.NotNull(outcome.Evidence.Baseline);
        Assert.True(outcome.Evidence.Baseline!.Value.Runs > 0, "the baseline was sampled over the same window");
        Assert.Equal(VersionStatus.Failed, m.GetVersions().Single(v => v.Id == 2).Status);
        Assert.Equal(1, m.GetStatus().ActiveVersionId);
    }

    [Fact]
    public async Task Default_manager_judges_with_the_observability_rules_promoting_healthy_and_rolling_back_faulty_canaries()
    {
        // No evaluator given: the manager's own default (RolloutHealthRules) decides.
        var m = new DeploymentManager(Options);
        Defer(() => { m.UndeployAsync().GetAwaiter().GetResult(); m.Dispose(); });
        var first = await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        Assert.True(first.Result == DeploymentResult.Promoted, first.Reason);

        DeploymentOutcome good, bad;
        using (new BackgroundTraffic(Net))
        {
            good = await m.DeployAsync(MakeArtifact("2.0.0"), new DeploymentRequest
            {
                Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [1_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(200) }),
            }, cancellationToken: Ct);
            // Without test vectors so the health rules, not the vectors, are what stops it.
            bad = await m.DeployAsync(MakeArtifact("3.0.0-bad", errorEvery: 2), new DeploymentRequest
            {
                Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [1_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(200), RunTestVectors = false }),
            }, cancellationToken: Ct);
        }

        Assert.True(good.Result == DeploymentResult.Promoted, good.Reason);
        Assert.Equal(HealthVerdict.Healthy, good.Evidence!.Verdict);
        Assert.Equal(HealthRules.All, good.Evidence.Rules.Select(r => r.Rule));
        Assert.True(bad.Result == DeploymentResult.RolledBack, bad.Reason);
        Assert.Equal(HealthVerdict.Unhealthy, bad.Evidence!.Verdict);
        Assert.Contains(bad.Evidence.Failures, f => f.Rule == HealthRules.ErrorRate && f.Severity == AlertSeverity.Critical);
        Assert.Equal(2, m.GetStatus().ActiveVersionId);
    }
}
