// A minimal health evaluator used when the host registers none: error rate and missed tail calls
// against fixed thresholds, with a minimum number of runs before it judges.
using System.Globalization;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Health;

/// <summary>Thresholds of <see cref="ThresholdHealthEvaluator"/>.</summary>
public sealed class ThresholdHealthOptions
{
    /// <summary>Runs needed before a verdict (default 20).</summary>
    public long MinimumRuns { get; set; } = 20;

    /// <summary>Highest acceptable error rate (default 0.01 = 1%).</summary>
    public double MaxErrorRate { get; set; } = 0.01;

    /// <summary>Highest acceptable number of missed tail calls in a window (default 0).</summary>
    public long MaxMissedTailCalls { get; set; }
}

/// <summary>Judges error rate and missed tail calls against fixed thresholds; both rules are critical.</summary>
public sealed class ThresholdHealthEvaluator : IHealthEvaluator
{
    private readonly ThresholdHealthOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the evaluator.</summary>
    public ThresholdHealthEvaluator(ThresholdHealthOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public HealthReport Evaluate(HealthSample candidate, HealthSample? baseline)
    {
        var rules = new List<HealthRuleResult>
        {
            new("error-rate", candidate.ErrorRate <= _options.MaxErrorRate, candidate.ErrorRate, _options.MaxErrorRate, AlertSeverity.Critical,
                string.Create(CultureInfo.InvariantCulture, $"error rate {candidate.ErrorRate * 100:0.00}% ({candidate.Errors}/{candidate.Runs}) {(candidate.ErrorRate <= _options.MaxErrorRate ? "<=" : ">")} {_options.MaxErrorRate * 100:0.00}%")),
            new("missed-tail-calls", candidate.MissedTailCalls <= _options.MaxMissedTailCalls, candidate.MissedTailCalls, _options.MaxMissedTailCalls, AlertSeverity.Critical,
                $"{candidate.MissedTailCalls} missed tail calls (limit {_options.MaxMissedTailCalls})"),
        };
        var verdict = rules.Any(r => !r.Passed) ? HealthVerdict.Unhealthy
            : candidate.Runs < _options.MinimumRuns ? HealthVerdict.InsufficientEvidence
            : HealthVerdict.Healthy;
        return new HealthReport(verdict, rules, candidate, baseline, _time.GetUtcNow());
    }
}
