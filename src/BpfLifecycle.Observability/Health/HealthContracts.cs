// The evidence and verdict types that rollout decisions are made from. Deployment consumes them
// through IHealthEvaluator; Observability provides the rules.
namespace BpfLifecycle.Observability.Health;

/// <summary>Severity of a failed health rule or an alert.</summary>
public enum AlertSeverity
{
    /// <summary>For information; no action needed.</summary>
    Info = 0,
    /// <summary>Worth a look; no automatic action.</summary>
    Warning = 1,
    /// <summary>Requires action; a candidate failing a critical rule is rolled back.</summary>
    Critical = 2,
}

/// <summary>What one program version did over one observation window (deltas, not totals).</summary>
/// <param name="Runs">Runs in the window (kernel run_cnt delta, dispatcher slot picks, or the version's own counter).</param>
/// <param name="Errors">Errors the program counted in the window.</param>
/// <param name="TotalNanoseconds">Run time in the window, in nanoseconds.</param>
/// <param name="MissedTailCalls">Tail calls into the version that failed and fell back.</param>
/// <param name="CpuShare">Run time over wall time and online CPUs (0..1).</param>
/// <param name="MapMemoryBytes">Kernel memory of the version's maps, in bytes.</param>
/// <param name="Window">Length of the window.</param>
public readonly record struct HealthSample(long Runs, long Errors, long TotalNanoseconds, long MissedTailCalls, double CpuShare, long MapMemoryBytes, TimeSpan Window)
{
    /// <summary>Errors over runs (0 when there were no runs).</summary>
    public double ErrorRate => Runs <= 0 ? 0 : (double)Errors / Runs;

    /// <summary>Mean run duration in nanoseconds (0 when there were no runs).</summary>
    public double MeanDurationNs => Runs <= 0 ? 0 : (double)TotalNanoseconds / Runs;
}

/// <summary>The outcome of an evaluation.</summary>
public enum HealthVerdict
{
    /// <summary>Not enough runs or time yet to judge.</summary>
    InsufficientEvidence = 0,
    /// <summary>Every rule passed.</summary>
    Healthy = 1,
    /// <summary>At least one warning rule failed, no critical one.</summary>
    Degraded = 2,
    /// <summary>At least one critical rule failed.</summary>
    Unhealthy = 3,
}

/// <summary>One rule's result with the numbers behind it.</summary>
/// <param name="Rule">Rule name, e.g. <c>error-rate</c>.</param>
/// <param name="Passed">Whether the rule passed.</param>
/// <param name="Observed">The observed figure.</param>
/// <param name="Threshold">The limit it was compared with.</param>
/// <param name="Severity">Severity when the rule fails.</param>
/// <param name="Explanation">A sentence with the numbers, e.g. <c>error rate 3.2% &gt; 1%</c>.</param>
public sealed record HealthRuleResult(string Rule, bool Passed, double Observed, double Threshold, AlertSeverity Severity, string Explanation)
{
    /// <summary>True when the rule could not be applied (e.g. no baseline with enough evidence); such a rule counts as passed.</summary>
    public bool Skipped { get; init; }
}

/// <summary>A verdict and the evidence for it.</summary>
/// <param name="Verdict">The verdict.</param>
/// <param name="Rules">Every rule evaluated, passed or not.</param>
/// <param name="Candidate">The candidate's sample.</param>
/// <param name="Baseline">The baseline's sample over the same window, if any.</param>
/// <param name="EvaluatedAt">When the evaluation was made.</param>
public sealed record HealthReport(HealthVerdict Verdict, IReadOnlyList<HealthRuleResult> Rules, HealthSample Candidate, HealthSample? Baseline, DateTimeOffset EvaluatedAt)
{
    /// <summary>The rules that failed.</summary>
    public IEnumerable<HealthRuleResult> Failures => Rules.Where(r => !r.Passed);
}

/// <summary>Judges a candidate against its baseline. Implemented by the Observability layer's rules; rollout strategies call it.</summary>
public interface IHealthEvaluator
{
    /// <summary>Evaluates a candidate sample, optionally against a baseline taken over the same window.</summary>
    HealthReport Evaluate(HealthSample candidate, HealthSample? baseline);
}
