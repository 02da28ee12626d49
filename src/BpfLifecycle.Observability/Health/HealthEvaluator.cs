// The built-in health rules: judge a candidate's window (and, when given, its baseline's over the same window)
// and return a verdict with every rule's numbers. No verdict is given before the minimum evidence is in.
using System.Globalization;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Observability.Health;

/// <summary>Applies <see cref="HealthRules.All"/> with thresholds from <see cref="HealthRuleOptions"/>.</summary>
public sealed class HealthEvaluator : IHealthEvaluator
{
    private readonly Func<HealthRuleOptions> _options;
    private readonly TimeProvider _time;

    /// <summary>Creates an evaluator over fixed options.</summary>
    public HealthEvaluator(HealthRuleOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfInvalid(options);
        _options = () => options;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Creates an evaluator that reads the current <see cref="ObservabilityOptions.Health"/> on every evaluation.</summary>
    public HealthEvaluator(IOptionsMonitor<ObservabilityOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = () => options.CurrentValue.Health;
        _time = timeProvider;
    }

    /// <inheritdoc />
    public HealthReport Evaluate(HealthSample candidate, HealthSample? baseline) => Evaluate(candidate, baseline, mapMemoryBudgetBytes: null);

    /// <summary>Evaluates with a per-program map memory budget that overrides <see cref="HealthRuleOptions.MapMemoryBudgetBytes"/>.</summary>
    public HealthReport Evaluate(HealthSample candidate, HealthSample? baseline, long? mapMemoryBudgetBytes)
    {
        var o = _options();
        var now = _time.GetUtcNow();
        var results = new List<HealthRuleResult>(HealthRules.All.Count);
        var hasEvidence = HasEvidence(candidate, o, out var why);
        if (!hasEvidence)
        {
            results.Add(new HealthRuleResult(HealthRules.Evidence, false, candidate.Runs, o.MinimumRuns, AlertSeverity.Info, "candidate: " + why));
            if (!o.JudgeCriticalRulesBeforeEvidence)
            {
                return new HealthReport(HealthVerdict.InsufficientEvidence, results, candidate, baseline, now);
            }
        }

        results.Add(Max(HealthRules.ErrorRate, o, candidate.ErrorRate, o.MaxErrorRate, v => $"error rate {Pct(v)} ({candidate.Errors} of {candidate.Runs} runs)", Pct));
        var maxNs = o.MaxMeanDuration.Ticks * 100.0;
        results.Add(Max(HealthRules.MeanDuration, o, candidate.MeanDurationNs, maxNs, v => $"mean duration {Ns(v)} over {candidate.Runs} runs", Ns));

        var baselineUsable = baseline is { } b && HasEvidence(b, o, out _);
        if (baseline is not { } bl)
        {
            results.Add(Skip(HealthRules.ErrorRateVsBaseline, o, o.MaxErrorRateRatio, "no baseline to compare with"));
            results.Add(Skip(HealthRules.LatencyVsBaseline, o, o.MaxLatencyRatio, "no baseline to compare with"));
        }
        else if (!baselineUsable)
        {
            HasEvidence(bl, o, out var bwhy);
            results.Add(Skip(HealthRules.ErrorRateVsBaseline, o, o.MaxErrorRateRatio, "baseline: " + bwhy));
            results.Add(Skip(HealthRules.LatencyVsBaseline, o, o.MaxLatencyRatio, "baseline: " + bwhy));
        }
        else
        {
            results.Add(ErrorRatio(o, candidate, bl));
            results.Add(LatencyRatio(o, candidate, bl));
        }

        results.Add(Max(HealthRules.CpuOverhead, o, candidate.CpuShare, o.MaxCpuShare, v => $"CPU share {Pct(v)} of {candidate.Window.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s on all CPUs", Pct));
        results.Add(Max(HealthRules.MissedTailCalls, o, candidate.MissedTailCalls, o.MaxMissedTailCalls, v => $"{v.ToString(CultureInfo.InvariantCulture)} missed tail calls", v => v.ToString(CultureInfo.InvariantCulture)));

        var budget = mapMemoryBudgetBytes ?? o.MapMemoryBudgetBytes;
        results.Add(budget is { } bytes
            ? Max(HealthRules.MapMemory, o, candidate.MapMemoryBytes, bytes, v => $"map memory {v.ToString("0", CultureInfo.InvariantCulture)} B", v => v.ToString("0", CultureInfo.InvariantCulture) + " B budget")
            : Skip(HealthRules.MapMemory, o, 0, "no map memory budget set"));

        if (!hasEvidence)
        {
            // Too little evidence to call the candidate healthy or degraded, but a failed critical rule already
            // proves harm.
            var harm = results.Any(r => !r.Passed && r.Severity == AlertSeverity.Critical);
            return new HealthReport(harm ? HealthVerdict.Unhealthy : HealthVerdict.InsufficientEvidence, results, candidate, baseline, now);
        }

        var verdict = HealthVerdict.Healthy;
        foreach (var r in results)
        {
            if (!r.Passed)
            {
                if (r.Severity == AlertSeverity.Critical)
                {
                    verdict = HealthVerdict.Unhealthy;
                }
                else if (r.Severity == AlertSeverity.Warning && verdict == HealthVerdict.Healthy)
                {
                    verdict = HealthVerdict.Degraded;
                }
            }
        }

        return new HealthReport(verdict, results, candidate, baseline, now);
    }

    private static bool HasEvidence(HealthSample s, HealthRuleOptions o, out string why)
    {
        if (s.Runs < o.MinimumRuns)
        {
            why = $"{s.Runs} runs, at least {o.MinimumRuns} needed";
            return false;
        }

        if (s.Window < o.MinimumWindow)
        {
            why = $"{s.Window.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s observed, at least {o.MinimumWindow.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s needed";
            return false;
        }

        why = string.Empty;
        return true;
    }

    private static HealthRuleResult Max(string rule, HealthRuleOptions o, double observed, double limit, Func<double, string> describe, Func<double, string> limitText)
    {
        var passed = observed <= limit;
        return new HealthRuleResult(rule, passed, observed, limit, o.SeverityOf(rule), $"{describe(observed)} {(passed ? "<=" : ">")} {limitText(limit)}");
    }

    private static HealthRuleResult Skip(string rule, HealthRuleOptions o, double threshold, string why)
        => new(rule, true, 0, threshold, o.SeverityOf(rule), "skipped: " + why) { Skipped = true };

    private static HealthRuleResult ErrorRatio(HealthRuleOptions o, HealthSample c, HealthSample b)
    {
        var limit = b.ErrorRate * o.MaxErrorRateRatio;
        var ratio = b.ErrorRate > 0 ? c.ErrorRate / b.ErrorRate : (c.ErrorRate > 0 ? double.PositiveInfinity : 1);
        var passed = c.ErrorRate <= limit || c.ErrorRate <= o.ErrorRateRatioFloor;
        var comparison = double.IsPositiveInfinity(ratio) ? "the baseline had none" : $"ratio {Ratio(ratio)}";
        var text = $"candidate error rate {Pct(c.ErrorRate)} vs baseline {Pct(b.ErrorRate)} ({comparison}) {(passed ? "<=" : ">")} {Ratio(o.MaxErrorRateRatio)}x baseline";
        if (passed && c.ErrorRate > limit)
        {
            text += $" (below the {Pct(o.ErrorRateRatioFloor)} floor)";
        }

        return new HealthRuleResult(HealthRules.ErrorRateVsBaseline, passed, ratio, o.MaxErrorRateRatio, o.SeverityOf(HealthRules.ErrorRateVsBaseline), text);
    }

    private static HealthRuleResult LatencyRatio(HealthRuleOptions o, HealthSample c, HealthSample b)
    {
        var ratio = b.MeanDurationNs > 0 ? c.MeanDurationNs / b.MeanDurationNs : (c.MeanDurationNs > 0 ? double.PositiveInfinity : 1);
        var passed = ratio <= o.MaxLatencyRatio;
        var text = $"candidate mean duration {Ns(c.MeanDurationNs)} vs baseline {Ns(b.MeanDurationNs)} (ratio {Ratio(ratio)}) {(passed ? "<=" : ">")} {Ratio(o.MaxLatencyRatio)}x baseline";
        return new HealthRuleResult(HealthRules.LatencyVsBaseline, passed, ratio, o.MaxLatencyRatio, o.SeverityOf(HealthRules.LatencyVsBaseline), text);
    }

    internal static void ThrowIfInvalid(HealthRuleOptions options)
    {
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid health rule options: " + string.Join(" ", problems), nameof(options));
        }
    }

    private static string Pct(double v) => (v * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%";

    private static string Ratio(double v) => double.IsPositiveInfinity(v) ? "inf" : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Ns(double ns) => ns switch
    {
        >= 1e6 => (ns / 1e6).ToString("0.###", CultureInfo.InvariantCulture) + " ms",
        >= 1e3 => (ns / 1e3).ToString("0.###", CultureInfo.InvariantCulture) + " us",
        _ => ns.ToString("0.#", CultureInfo.InvariantCulture) + " ns",
    };
}
