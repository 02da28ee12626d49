// A user-written strategy, as a host application would write one: a canary over a subset of interfaces.
// Each wave moves some hooks to the candidate with a link compare-and-swap, observes, and stops at the
// first unhealthy wave; the manager then returns every hook to the baseline.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment.Tests;

/// <summary>Options of <see cref="InterfaceWaveStrategy"/>.</summary>
public sealed class InterfaceWaveOptions : RolloutStrategyOptions
{
    /// <summary>Waves of hooks, moved to the candidate in order.</summary>
    public IReadOnlyList<IReadOnlyList<AttachPoint>> Waves { get; set; } = [];

    /// <summary>Observation after each wave.</summary>
    public TimeSpan WaveObservation { get; set; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public override IEnumerable<string> Validate()
    {
        if (Waves.Count == 0)
        {
            yield return "Waves is empty";
        }

        if (WaveObservation <= TimeSpan.Zero)
        {
            yield return "WaveObservation must be positive";
        }
    }
}

/// <summary>Canary by interface: hooks move to the candidate wave by wave.</summary>
public sealed class InterfaceWaveStrategy(InterfaceWaveOptions options) : RolloutStrategy
{
    /// <inheritdoc />
    public override string Name => "interface-waves";

    /// <inheritdoc />
    public override TrafficSwitchMode SwitchMode => TrafficSwitchMode.Direct;

    /// <inheritdoc />
    public override async ValueTask<RolloutDecision> ExecuteAsync(RolloutContext context, CancellationToken cancellationToken)
    {
        HealthReport? last = null;
        for (var i = 0; i < options.Waves.Count; i++)
        {
            foreach (var hook in options.Waves[i])
            {
                await context.RouteAsync(hook, RolloutTarget.Candidate, cancellationToken);
            }

            context.Report(RolloutEventKind.Info, $"wave {i + 1}/{options.Waves.Count}: {string.Join(", ", options.Waves[i])}");
            last = await context.ObserveAsync(options.WaveObservation, cancellationToken);
            if (last.Verdict == HealthVerdict.Unhealthy)
            {
                return RolloutDecision.RollBack($"wave {i + 1} unhealthy: {string.Join("; ", last.Failures.Select(f => f.Explanation))}", last);
            }
        }

        return RolloutDecision.PromoteCandidate($"{options.Waves.Count} waves healthy", last);
    }
}
