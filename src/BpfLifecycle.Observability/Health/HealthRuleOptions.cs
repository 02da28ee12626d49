// Thresholds, evidence minimums and severities of the built-in health rules, with the defaults rollouts use.
namespace BpfLifecycle.Observability.Health;

/// <summary>Names of the built-in health rules.</summary>
public static class HealthRules
{
    /// <summary>Not a rule: reported when there is not enough evidence for a verdict.</summary>
    public const string Evidence = "evidence";
    /// <summary>Error rate above <see cref="HealthRuleOptions.MaxErrorRate"/>.</summary>
    public const string ErrorRate = "error-rate";
    /// <summary>Mean run duration above <see cref="HealthRuleOptions.MaxMeanDuration"/>.</summary>
    public const string MeanDuration = "mean-duration";
    /// <summary>Candidate error rate above <see cref="HealthRuleOptions.MaxErrorRateRatio"/> times the baseline's.</summary>
    public const string ErrorRateVsBaseline = "error-rate-vs-baseline";
    /// <summary>Candidate mean duration above <see cref="HealthRuleOptions.MaxLatencyRatio"/> times the baseline's.</summary>
    public const string LatencyVsBaseline = "latency-vs-baseline";
    /// <summary>CPU share above <see cref="HealthRuleOptions.MaxCpuShare"/>.</summary>
    public const string CpuOverhead = "cpu-overhead";
    /// <summary>More missed tail calls than <see cref="HealthRuleOptions.MaxMissedTailCalls"/>.</summary>
    public const string MissedTailCalls = "missed-tail-calls";
    /// <summary>Map memory above <see cref="HealthRuleOptions.MapMemoryBudgetBytes"/>.</summary>
    public const string MapMemory = "map-memory";

    /// <summary>Every rule the evaluator applies, in report order.</summary>
    public static IReadOnlyList<string> All { get; } = [ErrorRate, MeanDuration, ErrorRateVsBaseline, LatencyVsBaseline, CpuOverhead, MissedTailCalls, MapMemory];
}

/// <summary>Health rule configuration. Defaults: error rate &gt; 1%, mean duration &gt; 1 ms, candidate error rate &gt; 1.1x
/// baseline, candidate latency &gt; 1.2x baseline, CPU &gt; 5%, any missed tail call, map memory over budget.</summary>
public sealed class HealthRuleOptions
{
    /// <summary>Length of the sliding window samples are aggregated over. Default 60 s.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Runs a window needs before any verdict. Default 100.</summary>
    public long MinimumRuns { get; set; } = 100;

    /// <summary>Observed time a window needs before any verdict. Default 30 s.</summary>
    public TimeSpan MinimumWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When true, the rules are applied even before <see cref="MinimumRuns"/> and <see cref="MinimumWindow"/> are met:
    /// a failed critical rule then gives <see cref="HealthVerdict.Unhealthy"/> at once (e.g. 5 errors in 6 runs of a 1%
    /// canary step), anything else stays <see cref="HealthVerdict.InsufficientEvidence"/>. Short rollout steps need
    /// this; a steady monitor does not. Default false.
    /// </summary>
    public bool JudgeCriticalRulesBeforeEvidence { get; set; }

    /// <summary>Highest acceptable error rate (0..1). Default 0.01.</summary>
    public double MaxErrorRate { get; set; } = 0.01;

    /// <summary>Highest acceptable mean run duration. Default 1 ms.</summary>
    public TimeSpan MaxMeanDuration { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Highest acceptable candidate/baseline error-rate ratio. Default 1.1.</summary>
    public double MaxErrorRateRatio { get; set; } = 1.1;

    /// <summary>
    /// Error rate below which the baseline comparison passes whatever the ratio (a baseline with no errors would
    /// otherwise fail a candidate over a single error). Default 0.001.
    /// </summary>
    public double ErrorRateRatioFloor { get; set; } = 0.001;

    /// <summary>Highest acceptable candidate/baseline mean-duration ratio. Default 1.2.</summary>
    public double MaxLatencyRatio { get; set; } = 1.2;

    /// <summary>Highest acceptable CPU share (run time over wall time and online CPUs, 0..1). Default 0.05.</summary>
    public double MaxCpuShare { get; set; } = 0.05;

    /// <summary>Missed tail calls tolerated in a window. Default 0: any missed tail call fails.</summary>
    public long MaxMissedTailCalls { get; set; }

    /// <summary>Map memory budget in bytes; null disables the rule unless a program sets its own budget. Default null.</summary>
    public long? MapMemoryBudgetBytes { get; set; }

    /// <summary>Severity of each rule when it fails. Rules missing here use <see cref="DefaultSeverity"/>.</summary>
    public Dictionary<string, AlertSeverity> Severities { get; } = new(StringComparer.Ordinal)
    {
        [HealthRules.ErrorRate] = AlertSeverity.Critical,
        [HealthRules.MeanDuration] = AlertSeverity.Warning,
        [HealthRules.ErrorRateVsBaseline] = AlertSeverity.Critical,
        [HealthRules.LatencyVsBaseline] = AlertSeverity.Warning,
        [HealthRules.CpuOverhead] = AlertSeverity.Warning,
        [HealthRules.MissedTailCalls] = AlertSeverity.Critical,
        [HealthRules.MapMemory] = AlertSeverity.Warning,
    };

    /// <summary>Severity of a rule not listed in <see cref="Severities"/>. Default warning.</summary>
    public AlertSeverity DefaultSeverity { get; set; } = AlertSeverity.Warning;

    /// <summary>The severity configured for a rule.</summary>
    public AlertSeverity SeverityOf(string rule) => Severities.TryGetValue(rule, out var s) ? s : DefaultSeverity;

    /// <summary>Problems with the values, each naming the option; empty when valid.</summary>
    public IEnumerable<string> Validate(string prefix = "Health")
    {
        if (Window <= TimeSpan.Zero)
        {
            yield return $"{prefix}.Window must be positive (is {Window}).";
        }

        if (MinimumWindow < TimeSpan.Zero || MinimumWindow > Window)
        {
            yield return $"{prefix}.MinimumWindow must be between 0 and Window ({Window}) (is {MinimumWindow}).";
        }

        if (MinimumRuns < 1)
        {
            yield return $"{prefix}.MinimumRuns must be at least 1 (is {MinimumRuns}).";
        }

        if (!(MaxErrorRate is >= 0 and <= 1))
        {
            yield return $"{prefix}.MaxErrorRate must be within 0..1 (is {MaxErrorRate}).";
        }

        if (MaxMeanDuration <= TimeSpan.Zero)
        {
            yield return $"{prefix}.MaxMeanDuration must be positive (is {MaxMeanDuration}).";
        }

        if (!(MaxErrorRateRatio >= 1))
        {
            yield return $"{prefix}.MaxErrorRateRatio must be at least 1 (is {MaxErrorRateRatio}).";
        }

        if (!(ErrorRateRatioFloor is >= 0 and <= 1))
        {
            yield return $"{prefix}.ErrorRateRatioFloor must be within 0..1 (is {ErrorRateRatioFloor}).";
        }

        if (!(MaxLatencyRatio >= 1))
        {
            yield return $"{prefix}.MaxLatencyRatio must be at least 1 (is {MaxLatencyRatio}).";
        }

        if (!(MaxCpuShare is > 0 and <= 1))
        {
            yield return $"{prefix}.MaxCpuShare must be within (0, 1] (is {MaxCpuShare}).";
        }

        if (MaxMissedTailCalls < 0)
        {
            yield return $"{prefix}.MaxMissedTailCalls must not be negative (is {MaxMissedTailCalls}).";
        }

        if (MapMemoryBudgetBytes is <= 0)
        {
            yield return $"{prefix}.MapMemoryBudgetBytes must be positive when set (is {MapMemoryBudgetBytes}).";
        }

        foreach (var (rule, severity) in Severities)
        {
            if (!HealthRules.All.Contains(rule))
            {
                yield return $"{prefix}.Severities names an unknown rule '{rule}' (known: {string.Join(", ", HealthRules.All)}).";
            }

            if (!Enum.IsDefined(severity))
            {
                yield return $"{prefix}.Severities['{rule}'] is not a valid severity ({(int)severity}).";
            }
        }
    }
}
