// The health rules a rollout is judged by when the host registers no IHealthEvaluator: the Observability layer's
// HealthEvaluator with evidence minimums sized for observation windows of a few hundred milliseconds to a few seconds.
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Health;

/// <summary>
/// Rollout defaults for <see cref="HealthEvaluator"/>, used by <see cref="DeploymentManager"/> and
/// <c>AddBpfDeployment</c> when no <see cref="IHealthEvaluator"/> is given.
/// </summary>
/// <remarks>
/// A strategy's observation window (a canary step, a blue-green window) is the evidence window, so the time minimum
/// is zero and 20 runs suffice for a verdict; critical rules are judged before that, so a candidate failing with
/// few runs (a 1% canary step) is rolled back at once instead of being waved through for lack of evidence. The
/// thresholds are <see cref="HealthRuleOptions"/>' own: error rate over 1%, error rate over 1.1x the baseline's
/// (above a 0.1% floor) and any missed tail call are critical; mean duration, latency ratio and CPU share are
/// warnings, which roll back only with <c>RollBackOnDegraded</c>.
/// </remarks>
public static class RolloutHealthRules
{
    /// <summary>Runs an observation window needs before a healthy verdict (20).</summary>
    public const long DefaultMinimumRuns = 20;

    /// <summary>A fresh copy of the rollout rule options with the default thresholds; change it before handing it to <see cref="HealthEvaluator"/>.</summary>
    public static HealthRuleOptions CreateOptions() => new()
    {
        MinimumRuns = DefaultMinimumRuns,
        MinimumWindow = TimeSpan.Zero,
        JudgeCriticalRulesBeforeEvidence = true,
    };

    /// <summary>
    /// Rollout rule options with the thresholds and severities of <paramref name="thresholds"/> (typically the monitor's,
    /// so alerts and rollouts judge by the same figures) and a rollout's evidence minimums: <paramref name="minimumRuns"/>
    /// runs, no time minimum, critical rules judged before the evidence minimum.
    /// </summary>
    public static HealthRuleOptions CreateOptions(HealthRuleOptions thresholds, long minimumRuns = DefaultMinimumRuns)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumRuns, 1);
        var o = CreateOptions();
        o.MinimumRuns = minimumRuns;
        o.MaxErrorRate = thresholds.MaxErrorRate;
        o.MaxMeanDuration = thresholds.MaxMeanDuration;
        o.MaxErrorRateRatio = thresholds.MaxErrorRateRatio;
        o.ErrorRateRatioFloor = thresholds.ErrorRateRatioFloor;
        o.MaxLatencyRatio = thresholds.MaxLatencyRatio;
        o.MaxCpuShare = thresholds.MaxCpuShare;
        o.MaxMissedTailCalls = thresholds.MaxMissedTailCalls;
        o.MapMemoryBudgetBytes = thresholds.MapMemoryBudgetBytes;
        o.DefaultSeverity = thresholds.DefaultSeverity;
        o.Severities.Clear();
        foreach (var (rule, severity) in thresholds.Severities)
        {
            o.Severities[rule] = severity;
        }

        return o;
    }

    /// <summary>A <see cref="HealthEvaluator"/> over <see cref="CreateOptions()"/>.</summary>
    public static HealthEvaluator CreateEvaluator(TimeProvider? timeProvider = null) => new(CreateOptions(), timeProvider);
}
