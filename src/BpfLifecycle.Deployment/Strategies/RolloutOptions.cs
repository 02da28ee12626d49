// Options of the built-in strategies: defaults that work, validation that names the field.
namespace BpfLifecycle.Deployment.Strategies;

/// <summary>Options shared by the built-in strategies.</summary>
public abstract class RolloutStrategyOptions
{
    /// <summary>Roll back when an observation has too few runs to judge (default false: promote on no evidence of harm).</summary>
    public bool RequireEvidence { get; set; }

    /// <summary>Roll back on <see cref="BpfLifecycle.Observability.Health.HealthVerdict.Degraded"/> as well as Unhealthy (default false).</summary>
    public bool RollBackOnDegraded { get; set; }

    /// <summary>Validation errors, empty when valid.</summary>
    public virtual IEnumerable<string> Validate() => [];
}

/// <summary>Options of the immediate strategy.</summary>
public sealed class ImmediateRolloutOptions : RolloutStrategyOptions
{
    /// <summary>Observe once after the switch and roll back if unhealthy (default zero: no observation).</summary>
    public TimeSpan ObservationWindow { get; set; } = TimeSpan.Zero;

    /// <inheritdoc />
    public override IEnumerable<string> Validate()
    {
        if (ObservationWindow < TimeSpan.Zero)
        {
            yield return $"ObservationWindow {ObservationWindow} is negative";
        }
    }
}

/// <summary>Options of the blue-green strategy.</summary>
public sealed class BlueGreenRolloutOptions : RolloutStrategyOptions
{
    /// <summary>How long green serves alone before it is kept (default 30 s).</summary>
    public TimeSpan ObservationWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Run the artifact's test vectors before the switch (default true).</summary>
    public bool RunTestVectors { get; set; } = true;

    /// <inheritdoc />
    public override IEnumerable<string> Validate()
    {
        if (ObservationWindow <= TimeSpan.Zero)
        {
            yield return $"ObservationWindow must be positive, got {ObservationWindow}";
        }
    }
}

/// <summary>Options of the canary strategy.</summary>
public sealed class CanaryRolloutOptions : RolloutStrategyOptions
{
    /// <summary>Canary shares in basis points, increasing; the last is usually 10000 (default 1%, 10%, 50%, 100%).</summary>
    public IReadOnlyList<int> StepsBasisPoints { get; set; } = [100, 1_000, 5_000, 10_000];

    /// <summary>Observation per step (default 30 s).</summary>
    public TimeSpan StepObservation { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Run the artifact's test vectors before the first step (default true).</summary>
    public bool RunTestVectors { get; set; } = true;

    /// <inheritdoc />
    public override IEnumerable<string> Validate()
    {
        if (StepsBasisPoints is null || StepsBasisPoints.Count == 0)
        {
            yield return "StepsBasisPoints is empty";
            yield break;
        }

        for (var i = 0; i < StepsBasisPoints.Count; i++)
        {
            if (StepsBasisPoints[i] is <= 0 or > 10_000)
            {
                yield return $"StepsBasisPoints[{i}] = {StepsBasisPoints[i]} is outside 1..10000";
            }
            else if (i > 0 && StepsBasisPoints[i] <= StepsBasisPoints[i - 1])
            {
                yield return $"StepsBasisPoints must increase: {StepsBasisPoints[i - 1]} then {StepsBasisPoints[i]}";
            }
        }

        if (StepObservation <= TimeSpan.Zero)
        {
            yield return $"StepObservation must be positive, got {StepObservation}";
        }
    }
}
