// The built-in strategies: immediate, blue-green and canary. Internal and sealed; created through
// RolloutStrategy.Immediate/BlueGreen/Canary.
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Strategies;

internal static class HealthJudgement
{
    public static bool IsBad(HealthReport report, RolloutStrategyOptions options) => report.Verdict switch
    {
        HealthVerdict.Unhealthy => true,
        HealthVerdict.Degraded => options.RollBackOnDegraded,
        HealthVerdict.InsufficientEvidence => options.RequireEvidence,
        _ => false,
    };

    /// <summary>How a promoted window reads: healthy, or promoted with too little evidence to judge.</summary>
    public static string Passed(HealthReport report) => report.Verdict == HealthVerdict.InsufficientEvidence
        ? "promoted with too little evidence to judge (RequireEvidence rolls back instead)"
        : "healthy";

    public static string Describe(HealthReport report)
    {
        var failures = report.Failures.Select(f => f.Explanation).ToList();
        return failures.Count > 0 ? $"{report.Verdict}: {string.Join("; ", failures)}" : $"{report.Verdict} ({report.Candidate.Runs} runs, {report.Candidate.Errors} errors)";
    }
}

internal sealed class ImmediateStrategy(ImmediateRolloutOptions options) : RolloutStrategy
{
    public override string Name => "immediate";

    public override async ValueTask<RolloutDecision> ExecuteAsync(RolloutContext context, CancellationToken cancellationToken)
    {
        await context.RouteAllAsync(RolloutTarget.Candidate, cancellationToken).ConfigureAwait(false);
        if (options.ObservationWindow <= TimeSpan.Zero)
        {
            return RolloutDecision.PromoteCandidate("switched immediately");
        }

        var report = await context.ObserveAsync(options.ObservationWindow, cancellationToken).ConfigureAwait(false);
        return HealthJudgement.IsBad(report, options)
            ? RolloutDecision.RollBack($"unhealthy after switch: {HealthJudgement.Describe(report)}", report)
            : RolloutDecision.PromoteCandidate($"{HealthJudgement.Passed(report)} after switch: {HealthJudgement.Describe(report)}", report);
    }
}

internal sealed class BlueGreenStrategy(BlueGreenRolloutOptions options) : RolloutStrategy
{
    public override string Name => "blue-green";

    public override async ValueTask<RolloutDecision> ExecuteAsync(RolloutContext context, CancellationToken cancellationToken)
    {
        if (options.RunTestVectors)
        {
            var vectors = await context.RunTestVectorsAsync(cancellationToken).ConfigureAwait(false);
            if (!vectors.Passed)
            {
                return RolloutDecision.RollBack($"test vectors failed before the switch: {vectors.Describe()}");
            }
        }

        await context.RouteAllAsync(RolloutTarget.Candidate, cancellationToken).ConfigureAwait(false);
        var report = await context.ObserveAsync(options.ObservationWindow, cancellationToken).ConfigureAwait(false);
        if (HealthJudgement.IsBad(report, options))
        {
            return RolloutDecision.RollBack($"green unhealthy in its observation window: {HealthJudgement.Describe(report)}", report);
        }

        return RolloutDecision.PromoteCandidate($"green {HealthJudgement.Passed(report)} over {options.ObservationWindow.TotalSeconds:0.###} s: {HealthJudgement.Describe(report)}", report);
    }
}

internal sealed class CanaryStrategy(CanaryRolloutOptions options) : RolloutStrategy
{
    public override string Name => "canary";

    public override TrafficSwitchMode SwitchMode => TrafficSwitchMode.Dispatcher;

    public override async ValueTask<RolloutDecision> ExecuteAsync(RolloutContext context, CancellationToken cancellationToken)
    {
        if (options.RunTestVectors)
        {
            var vectors = await context.RunTestVectorsAsync(cancellationToken).ConfigureAwait(false);
            if (!vectors.Passed)
            {
                return RolloutDecision.RollBack($"test vectors failed before the first step: {vectors.Describe()}");
            }
        }

        HealthReport? last = null;
        var unjudged = new List<string>();
        foreach (var share in options.StepsBasisPoints)
        {
            await context.SetCanaryShareAsync(share, cancellationToken).ConfigureAwait(false);
            last = await context.ObserveAsync(options.StepObservation, cancellationToken).ConfigureAwait(false);
            if (HealthJudgement.IsBad(last, options))
            {
                return RolloutDecision.RollBack($"canary at {share / 100.0:0.##}% unhealthy: {HealthJudgement.Describe(last)}", last);
            }

            if (last.Verdict == HealthVerdict.InsufficientEvidence)
            {
                unjudged.Add($"{share / 100.0:0.##}%");
            }
        }

        var steps = string.Join(" -> ", options.StepsBasisPoints.Select(s => $"{s / 100.0:0.##}%"));
        return RolloutDecision.PromoteCandidate(unjudged.Count == 0
            ? $"canary healthy at every step ({steps})"
            : $"canary promoted through every step ({steps}); too little evidence to judge at {string.Join(", ", unjudged)} (RequireEvidence rolls back instead)", last);
    }
}
