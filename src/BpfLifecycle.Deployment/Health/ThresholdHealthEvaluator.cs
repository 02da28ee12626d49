// A preset of the Observability layer's HealthEvaluator for hosts that want only two rollback triggers, error rate
// and missed tail calls, set by three numbers. The rules themselves live in HealthEvaluator.
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Health;

/// <summary>Thresholds of <see cref="ThresholdHealthEvaluator"/>.</summary>
public sealed class ThresholdHealthOptions
{
    /// <summary>Runs needed before a healthy verdict (default 20; at least 1).</summary>
    public long MinimumRuns { get; set; } = RolloutHealthRules.DefaultMinimumRuns;

    /// <summary>Highest acceptable error rate (default 0.01 = 1%).</summary>
    public double MaxErrorRate { get; set; } = 0.01;

    /// <summary>Highest acceptable number of missed tail calls in a window (default 0).</summary>
    public long MaxMissedTailCalls { get; set; }

    /// <summary>The <see cref="HealthRuleOptions"/> these thresholds stand for.</summary>
    /// <remarks>
    /// <see cref="RolloutHealthRules.CreateOptions()"/> with the three thresholds applied and every rule other than
    /// <see cref="HealthRules.ErrorRate"/> and <see cref="HealthRules.MissedTailCalls"/> lowered to
    /// <see cref="AlertSeverity.Info"/>: those rules are still reported with their numbers but never change the verdict.
    /// </remarks>
    public HealthRuleOptions ToRuleOptions()
    {
        var o = RolloutHealthRules.CreateOptions();
        o.MinimumRuns = MinimumRuns;
        o.MaxErrorRate = MaxErrorRate;
        o.MaxMissedTailCalls = MaxMissedTailCalls;
        foreach (var rule in HealthRules.All)
        {
            o.Severities[rule] = rule is HealthRules.ErrorRate or HealthRules.MissedTailCalls ? AlertSeverity.Critical : AlertSeverity.Info;
        }

        return o;
    }
}

/// <summary>
/// <see cref="HealthEvaluator"/> preset: error rate and missed tail calls are the only rules that decide (both critical),
/// judged even before <see cref="ThresholdHealthOptions.MinimumRuns"/>; the other rules are reported for information.
/// </summary>
public sealed class ThresholdHealthEvaluator : IHealthEvaluator
{
    private readonly HealthEvaluator _rules;

    /// <summary>Creates the evaluator.</summary>
    /// <exception cref="ArgumentException">A threshold is out of range; the message names it.</exception>
    public ThresholdHealthEvaluator(ThresholdHealthOptions? options = null, TimeProvider? timeProvider = null)
    {
        _rules = new HealthEvaluator((options ?? new()).ToRuleOptions(), timeProvider);
    }

    /// <inheritdoc />
    public HealthReport Evaluate(HealthSample candidate, HealthSample? baseline) => _rules.Evaluate(candidate, baseline);
}
