// The deployment manager judged by the Observability layer's health rules (not the threshold default):
// a faulty canary is rolled back on the error-rate evidence those rules produce.
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
            outcome = await m.DeployAsync(MakeArtifact("2.0.0-bad", errorEvery: 2), new DeploymentRequest
            {
                Strategy = RolloutStrategy.Canary(new() { StepsBasisPoints = [5_000, 10_000], StepObservation = TimeSpan.FromMilliseconds(400), RollBackOnDegraded = true }),
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
}
